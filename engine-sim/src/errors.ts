// One error shape, vLLM's: {error: {message, type, param, code}} with the
// HTTP status as code.

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly type: string, readonly param: string | null = null) {
    super(message);
  }
}

export const badRequest = (message: string, param: string | null = null) => new ApiError(400, message, 'BadRequestError', param);
export const notFound = (message: string) => new ApiError(404, message, 'NotFoundError');

export function errorBody(err: ApiError): string {
  return JSON.stringify({ error: { message: err.message, type: err.type, param: err.param, code: err.status } });
}
