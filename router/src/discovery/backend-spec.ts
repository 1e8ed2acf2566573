// What a discovery source (or a dynamic config) says about one engine: where
// it is, what it serves, and what a health check of it sends.

export const MODEL_TYPES = ['chat', 'completion', 'embeddings', 'rerank', 'score', 'transcription', 'vision', 'messages'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** The Kubernetes pod (or Service) an engine was discovered as. */
export interface PodRef {
  name: string;
  namespace: string;
  /** When it turned ready (ISO time). */
  readySince: string;
}

export interface BackendSpec {
  url: string;
  models: string[];
  label?: string;
  modelType?: ModelType | null;
  pod?: PodRef | null;
}
