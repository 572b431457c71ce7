import * as sigstoreBundle from '@sigstore/bundle';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { SECRETBOX_KEY_BYTES, SECRETBOX_NONCE_BYTES, SECRETBOX_TAG_BYTES } from '../../src/keys/cosign-envelope.js';
import * as mediaTypes from '../../src/sigstore/bundle-media-types.js';

/** Constants written out so their libraries load only when used (CLI start-up) must stay the libraries' own. */
describe('constants copied from lazily loaded libraries', () => {
  it('the Sigstore bundle media types are @sigstore/bundle’s', () => {
    expect(mediaTypes.BUNDLE_V01_MEDIA_TYPE).toBe(sigstoreBundle.BUNDLE_V01_MEDIA_TYPE);
    expect(mediaTypes.BUNDLE_V02_MEDIA_TYPE).toBe(sigstoreBundle.BUNDLE_V02_MEDIA_TYPE);
    expect(mediaTypes.BUNDLE_V03_LEGACY_MEDIA_TYPE).toBe(sigstoreBundle.BUNDLE_V03_LEGACY_MEDIA_TYPE);
    expect(mediaTypes.BUNDLE_V03_MEDIA_TYPE).toBe(sigstoreBundle.BUNDLE_V03_MEDIA_TYPE);
  });

  it('the secretbox sizes of cosign keys are tweetnacl’s', () => {
    expect(SECRETBOX_KEY_BYTES).toBe(nacl.secretbox.keyLength);
    expect(SECRETBOX_NONCE_BYTES).toBe(nacl.secretbox.nonceLength);
    expect(SECRETBOX_TAG_BYTES).toBe(nacl.secretbox.overheadLength);
  });
});
