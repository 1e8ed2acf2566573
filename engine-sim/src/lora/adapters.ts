// The adapters an engine serves: those of --lora-modules and those loaded at
// run time, their /v1/models cards, and the load/unload routes answered as
// vLLM answers them (serving_models.py): 200 with the text "Success: …",
// 400 InvalidUserInput for a missing field or a name loaded twice, 404
// NotFoundError for unloading an unknown name.
import type { Registry } from 'prom-client';
import { ApiError, badRequest } from '../errors.js';
import { LoraMetrics } from './metrics.js';
import type { LoraModule, LoraSettings } from './modules.js';
import { LoraSlots } from './slots.js';

const invalid = (message: string) => new ApiError(400, message, 'InvalidUserInput');

function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | null)?.[name];
  return typeof v === 'string' ? v : '';
}

export class LoraAdapters {
  readonly slots: LoraSlots;
  readonly metrics: LoraMetrics;
  private readonly modules = new Map<string, LoraModule>();

  constructor(readonly settings: LoraSettings, private readonly baseModel: string, registry: Registry) {
    this.slots = new LoraSlots(settings.maxLoras, settings.maxCpuLoras ?? settings.maxLoras);
    this.metrics = new LoraMetrics(registry, this.slots);
    for (const m of settings.modules) this.add(m);
  }

  has(name: string): boolean {
    return this.modules.has(name);
  }

  /** The adapters' /v1/models cards: root = path, parent = the base model (vLLM sets no max_model_len). */
  cards(created: number): Record<string, unknown>[] {
    return [...this.modules.values()].map((m) => ({
      id: m.name, object: 'model', created, owned_by: 'vllm', root: m.path, parent: m.baseModelName ?? this.baseModel, max_model_len: null, permission: [],
    }));
  }

  /** POST /v1/load_lora_adapter {lora_name, lora_path}. */
  load(body: unknown): string {
    const name = field(body, 'lora_name');
    const path = field(body, 'lora_path');
    if (!name || !path) throw invalid("Both 'lora_name' and 'lora_path' must be provided.");
    if (this.modules.has(name)) throw invalid(`The lora adapter '${name}' has already been loaded.`);
    if (!this.settings.enabled) throw badRequest('LoRA is not enabled. Please start the server with --enable-lora.');
    this.add({ name, path, baseModelName: null });
    return `Success: LoRA adapter '${name}' added successfully.`;
  }

  /** POST /v1/unload_lora_adapter {lora_name}. */
  unload(body: unknown): string {
    const name = field(body, 'lora_name');
    const id = (body as Record<string, unknown> | null)?.lora_int_id;
    if (!name && (id === undefined || id === null)) throw invalid("either 'lora_name' and 'lora_int_id' needs to be provided.");
    if (!this.modules.has(name)) throw new ApiError(404, `The lora adapter '${name}' cannot be found.`, 'NotFoundError');
    this.modules.delete(name);
    this.slots.forget(name);
    return `Success: LoRA adapter '${name}' removed successfully.`;
  }

  private add(m: LoraModule): void {
    this.modules.set(m.name, m);
    this.slots.preload(m.name);
  }
}
