// This project's images (its router, the simulator as engine) are published
// nowhere: on minikube they must have been built and loaded (make vllm-images)
// before the deploy, or the pods wait on an image pull that cannot succeed. The
// nodes say which images they hold (Node status.images), so bring-up can tell.
// On an existing cluster the images come from a registry the cluster pulls
// from, which only the pull shows: bring-up says which names must be there. Pure.

/** The names a node lists an image under: docker.io's short forms included. */
function spellings(tag: string): string[] {
  const first = tag.split('/')[0] ?? '';
  const hasRegistry = tag.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return [tag];
  return [tag, `docker.io/${tag}`, ...(tag.includes('/') ? [] : [`docker.io/library/${tag}`])];
}

/** The problems (minikube) or notes (an existing cluster) about this project's images, given what the nodes hold. */
export function projectImageFindings(images: { tag: string; usedBy: string[] }[], nodeImages: string[][], target: string): { lines: string[]; problems: string[] } {
  const lines: string[] = [];
  const problems: string[] = [];
  if (images.length === 0) return { lines, problems };
  if (target !== 'minikube') {
    lines.push(`ℹ️  this project's images (${images.map((i) => i.tag).join(', ')}) are pulled from a registry the cluster reaches: make vllm-images builds them and prints the push commands; set CONFIG_VLLM_ROUTER_IMAGE / CONFIG_VLLM_ENGINE_IMAGE_REPO to your registry's names`);
    return { lines, problems };
  }
  const held = new Set(nodeImages.flat());
  const missing = images.filter((i) => !spellings(i.tag).some((s) => held.has(s)));
  if (missing.length === 0) lines.push(`✅ this project's images are loaded in minikube (${images.map((i) => i.tag).join(', ')})`);
  else problems.push(`this project's image${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i.tag} (${i.usedBy.join(', ')})`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in minikube and published nowhere, so the pods would wait on a pull that cannot succeed: run make vllm-images (it builds the image and loads it with minikube image load), then make vllm again`);
  return { lines, problems };
}
