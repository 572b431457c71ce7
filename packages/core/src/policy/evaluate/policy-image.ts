import { TollgateError } from '../../errors/tollgate-error.js';
import type { Image } from '../../image/image.js';
import type { ImageIndex } from '../../image/image-index.js';
import { indexLayers, layerDiffIDs, type IndexLayersOptions, type LayerIndex } from '../../layer-index/layer-index.js';
import { readLayerFile } from '../../layer-index/read-layer-file.js';
import { isAttestationManifest } from '../../platform/select.js';
import type { ImageReference } from '../../reference/reference.js';
import type { PolicyImage } from './types.js';

export interface PolicyImageOptions extends IndexLayersOptions {
  /** The reference as the user wrote it, for reports (default: the name). */
  reference?: string;
}

/**
 * Builds what evaluation needs from an opened image: the name rules match (normalised), the pulled platform
 * manifest's digest, the index (if the reference named one) with its platform manifests, the verified config,
 * the layers with their diffIDs, and a lazy file index read through the layer index store when one is given.
 */
export async function policyImageFrom(
  opened: { root: Image | ImageIndex; image: Image },
  name: Pick<ImageReference, 'registry' | 'repository'>,
  options: PolicyImageOptions = {},
): Promise<PolicyImage> {
  const { root, image } = opened;
  const config = await image.config();
  const diffIDs = await layerDiffIDs(image);
  let files: Promise<LayerIndex[]> | undefined;
  // Kept with the image (and its copies): a file read for one evaluation serves the next. Failures are not kept.
  const fileReads = new Map<string, Promise<Uint8Array>>();
  const policyImage: PolicyImage = {
    reference: options.reference ?? `${name.registry}/${name.repository}@${image.digest}`,
    registry: name.registry,
    repository: name.repository,
    digest: image.digest,
    config,
    layers: image.layers.map((layer, i) => ({ digest: layer.digest, size: layer.size, diffID: diffIDs[i]! })),
    layerIndexes: () => {
      files ??= indexLayers(image, options);
      return files;
    },
    readLayerFile: (layer, path, expect) => {
      const key = `${layer.descriptor.digest} ${path} ${expect.sha256} ${expect.maxBytes}`;
      let read = fileReads.get(key);
      if (read === undefined) {
        read = readLayerFile({ image, descriptor: layer.descriptor, diffID: layer.diffID }, path, { ...expect, limits: options.limits, signal: options.signal });
        fileReads.set(key, read);
        read.catch(() => fileReads.delete(key));
      }
      return read;
    },
  };
  if (root.kind === 'index') {
    const manifests = root.manifests.filter((d) => !isAttestationManifest(d) && d.platform !== undefined);
    if (!manifests.some((m) => m.digest === image.digest)) {
      throw new TollgateError('INVALID_MANIFEST', `the pulled image ${image.digest} is not a platform manifest of the index ${root.digest}; refusing to evaluate it`);
    }
    policyImage.index = { digest: root.digest, manifests: manifests.map((m) => ({ digest: m.digest, ...(m.platform ? { platform: m.platform } : {}) })) };
  }
  return policyImage;
}
