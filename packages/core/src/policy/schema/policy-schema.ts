/**
 * The JSON Schema (draft 2020-12) of a tollgate policy file. It is published as docs/policy.schema.json (a test
 * keeps the two identical) and enforced by validateAgainstSchema, which implements the subset used here.
 * Every object closes its keys (`additionalProperties: false`): an unknown key is an error, never ignored.
 */
const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$', description: 'letters, digits, ".", "_" and "-", at most 63 characters' };
const PEM = { type: 'string', minLength: 1, maxLength: 65536 };
const FILE = { type: 'string', minLength: 1, maxLength: 4096, description: 'path relative to the policy file' };
const DIGEST = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' };

export const POLICY_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://tollgate.dev/schemas/policy.schema.json',
  title: 'tollgate image policy',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'rules'],
  properties: {
    apiVersion: { const: 'tollgate.dev/v1alpha1' },
    kind: { const: 'ImagePolicy' },
    mode: { $ref: '#/$defs/mode', description: 'enforce (default) or warn for every rule that does not set its own, and for the default' },
    default: { enum: ['deny', 'allow', 'warn'], description: 'verdict for images no rule matches (default deny)' },
    rules: { type: 'array', maxItems: 10000, items: { $ref: '#/$defs/rule' } },
  },
  $defs: {
    mode: { enum: ['enforce', 'warn'] },
    rule: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'images'],
      properties: {
        name: NAME,
        images: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 512 } },
        mode: { $ref: '#/$defs/mode' },
        platforms: { enum: ['pulled', 'all', 'index'], description: 'what must be signed in a multi-platform image (default pulled)' },
        authorities: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/authority' } },
        threshold: { type: 'integer', minimum: 1, maximum: 64 },
        attestations: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/attestation' } },
        checks: { $ref: '#/$defs/checks' },
      },
    },
    authority: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      oneOf: [{ required: ['key'] }, { required: ['keyless'] }, { required: ['notation'] }],
      properties: {
        name: NAME,
        key: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: { file: FILE, pem: PEM, jwk: { type: 'object' } },
        },
        keyless: {
          type: 'object',
          additionalProperties: false,
          properties: {
            issuer: { type: 'string', minLength: 1, maxLength: 1024 },
            issuerRegexp: { type: 'string', minLength: 1, maxLength: 1024 },
            subject: { type: 'string', minLength: 1, maxLength: 1024 },
            subjectRegexp: { type: 'string', minLength: 1, maxLength: 1024 },
          },
        },
        notation: {
          type: 'object',
          additionalProperties: false,
          required: ['trustStore', 'trustedIdentities'],
          properties: {
            trustStore: {
              type: 'array',
              minItems: 1,
              maxItems: 64,
              items: { type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1, properties: { file: FILE, pem: PEM } },
            },
            trustStoreType: {
              enum: ['ca', 'signingAuthority'],
              description: 'what the trustStore certificates anchor: ca (default) for notary.x509 signatures, signingAuthority for notary.x509.signingAuthority signatures; never both',
            },
            trustedIdentities: { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', pattern: '^x509\\.subject: *\\S', maxLength: 1024 } },
          },
        },
        transparencyLog: { enum: ['required', 'ignore'] },
        timestamp: { enum: ['required', 'optional'] },
      },
    },
    attestation: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'predicateType', 'authorities'],
      properties: {
        name: NAME,
        predicateType: { type: 'string', minLength: 1, maxLength: 1024 },
        authorities: { type: 'array', minItems: 1, maxItems: 64, items: { $ref: '#/$defs/authority' } },
        threshold: { type: 'integer', minimum: 1, maximum: 64 },
        conditions: {
          type: 'array',
          maxItems: 256,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['expression'],
            properties: { expression: { type: 'string', minLength: 1, maxLength: 16384 }, message: { type: 'string', maxLength: 1024 } },
          },
        },
      },
    },
    globList: { type: 'array', maxItems: 1024, items: { type: 'string', minLength: 1, maxLength: 4096 } },
    checks: {
      type: 'object',
      additionalProperties: false,
      properties: {
        nonRootUser: { type: 'boolean' },
        healthcheck: { type: 'boolean' },
        noSetuid: {
          type: ['boolean', 'object'],
          additionalProperties: false,
          properties: { allow: { $ref: '#/$defs/globList' } },
        },
        noSecrets: {
          type: ['boolean', 'object'],
          additionalProperties: false,
          properties: { allow: { $ref: '#/$defs/globList' }, patterns: { $ref: '#/$defs/globList' } },
        },
        maxSize: {
          type: ['integer', 'string'],
          minimum: 0,
          pattern: '^[0-9]+(\\.[0-9]+)? ?([kKMGT]i?B|B)?$',
          description: 'bytes, or a number with a unit: B, kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)',
        },
        maxLayers: { type: 'integer', minimum: 1, maximum: 10000 },
        baseImages: {
          type: 'array',
          minItems: 1,
          maxItems: 256,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'diffIDs'],
            properties: {
              name: NAME,
              digest: DIGEST,
              diffIDs: { type: 'array', minItems: 1, maxItems: 1000, items: DIGEST },
            },
          },
        },
      },
    },
  },
} as const;
