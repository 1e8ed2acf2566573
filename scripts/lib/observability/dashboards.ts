// The Grafana dashboards the project ships, read from observability/dashboards/.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DASHBOARDS_DIR = fileURLToPath(new URL('../../../../observability/dashboards/', import.meta.url));

export interface ShippedDashboard {
  /** File name, e.g. vllm.json. */
  file: string;
  /** The file's text, as Grafana imports it. */
  json: string;
}

export async function shippedDashboards(dir = DASHBOARDS_DIR): Promise<ShippedDashboard[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => {
    const json = await readFile(join(dir, file), 'utf8');
    try {
      JSON.parse(json);
    } catch (err) {
      throw new Error(`${join(dir, file)} is not valid JSON: ${(err as Error).message}`);
    }
    return { file, json };
  }));
}
