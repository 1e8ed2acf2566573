// This project's images (its router, the simulator as engine) are published
// nowhere: on minikube they must have been built and loaded (make vllm-images)
// before the deploy, or the pods wait on an image pull that cannot succeed. The
// nodes say which images they hold (Node status.images), so bring-up can tell.
// On an existing cluster the images come from a registry the cluster pulls
// from: a name still under the project's default repository (published
// nowhere) that no node holds cannot be pulled, so the deploy is refused,
// naming the setting to change and the push commands; a name in another
// registry only the pull proves, and bring-up says where it is expected. Pure.

/** The project's default image repository (CONFIG_VLLM_ROUTER_IMAGE, CONFIG_VLLM_ENGINE_IMAGE_REPO with +sim), under which nothing is published. */
export const UNPUBLISHED = 'ghcr.io/vllm-stack-harness/';

function registryOf(tag: string): string {
  const first = tag.split('/')[0] ?? '';
  return tag.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

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
  const held = new Set(nodeImages.flat());
  const missing = images.filter((i) => !spellings(i.tag).some((s) => held.has(s)));
  if (target !== 'minikube') {
    const unpublished = missing.filter((i) => i.tag.startsWith(UNPUBLISHED));
    const elsewhere = missing.filter((i) => !i.tag.startsWith(UNPUBLISHED));
    for (const i of unpublished) {
      const setting = i.usedBy.some((u) => u.endsWith(' router')) ? 'CONFIG_VLLM_ROUTER_IMAGE' : 'CONFIG_VLLM_ENGINE_IMAGE_REPO';
      const name = i.tag.slice(UNPUBLISHED.length);
      problems.push(`this project's image ${i.tag} (${i.usedBy.join(', ')}) is published nowhere and no node holds it, so the pods would wait on a pull that cannot succeed: build it with make vllm-images, push it to a registry the cluster pulls from (docker tag ${i.tag} REGISTRY/${name} && docker push REGISTRY/${name}), and set ${setting} to REGISTRY/${name.replace(/:[^:/]*$/, '')}`);
    }
    if (elsewhere.length > 0) lines.push(`ℹ️  this project's images ${elsewhere.map((i) => i.tag).join(', ')} are pulled at deploy from their registries (${[...new Set(elsewhere.map((i) => registryOf(i.tag)))].join(', ')}): make vllm-images builds them and prints the push commands`);
    if (missing.length < images.length) lines.push(`✅ the nodes hold ${images.filter((i) => !missing.includes(i)).map((i) => i.tag).join(', ')}`);
    return { lines, problems };
  }
  if (missing.length === 0) lines.push(`✅ this project's images are loaded in minikube (${images.map((i) => i.tag).join(', ')})`);
  else problems.push(`this project's image${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i.tag} (${i.usedBy.join(', ')})`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not in minikube and published nowhere, so the pods would wait on a pull that cannot succeed: run make vllm-images (it builds the image and loads it with minikube image load), then make vllm again`);
  return { lines, problems };
}
