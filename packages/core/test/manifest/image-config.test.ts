import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isTollgateError, parseImageConfig, TollgateError } from '@tollgate/core';

const enc = (s: string) => new TextEncoder().encode(s);
const d = (c: string) => `sha256:${c.repeat(64)}`;

/** A Docker-built config as `docker save` writes it, nulls and all. */
const DOCKER_CONFIG = `{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"app","AttachStdin":false,
"ExposedPorts":{"80/tcp":{}},"Tty":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin","NGINX_VERSION=1.27.0"],
"Cmd":["nginx","-g","daemon off;"],"Image":"","Volumes":null,"WorkingDir":"/srv","Entrypoint":null,"OnBuild":null,
"Labels":{"maintainer":"NGINX Docker Maintainers"},"StopSignal":"SIGQUIT",
"Healthcheck":{"Test":["CMD","curl","-f","http://localhost/"],"Interval":30000000000,"Retries":3}},
"container_config":{"Env":null},"created":"2024-05-29T22:45:49.128416546Z","docker_version":"20.10.23",
"history":[{"created":"2024-05-14T01:28:29Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "},
{"created":"2024-05-14T01:28:29Z","created_by":"/bin/sh -c #(nop)  CMD [\\"bash\\"]","empty_layer":true}],
"os":"linux","rootfs":{"type":"layers","diff_ids":["${d('a')}","${d('b')}"]}}`;

const OCI_CONFIG = `{"created":"2024-01-01T00:00:00Z","architecture":"arm64","variant":"v8","os":"linux",
"config":{"Env":null,"Entrypoint":["/app"],"Cmd":null,"Labels":null},"rootfs":{"type":"layers","diff_ids":[]},"history":null}`;

function refusal(json: string | Uint8Array): TollgateError {
  try {
    parseImageConfig(typeof json === 'string' ? enc(json) : json, 'config c');
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    return error as TollgateError;
  }
  throw new Error('expected the config to be refused');
}

describe('parseImageConfig', () => {
  it('reads a Docker config, keeping known fields and reading nulls as absent', () => {
    const config = parseImageConfig(enc(DOCKER_CONFIG));
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: [d('a'), d('b')] });
    expect(config.architecture).toBe('amd64');
    expect(config.config).toEqual({
      User: 'app',
      WorkingDir: '/srv',
      StopSignal: 'SIGQUIT',
      Env: ['PATH=/usr/local/sbin:/usr/local/bin', 'NGINX_VERSION=1.27.0'],
      Entrypoint: null,
      Cmd: ['nginx', '-g', 'daemon off;'],
      ExposedPorts: { '80/tcp': {} },
      Labels: { maintainer: 'NGINX Docker Maintainers' },
      Healthcheck: { Test: ['CMD', 'curl', '-f', 'http://localhost/'], Interval: 30000000000, Retries: 3 },
    });
    expect(config.history).toHaveLength(2);
    expect(config.history![1]!.empty_layer).toBe(true);
    expect(Object.keys(config)).not.toContain('docker_version');
  });

  it('reads an OCI config with nulls and an empty layer list', () => {
    const config = parseImageConfig(enc(OCI_CONFIG));
    expect(config).toEqual({
      rootfs: { type: 'layers', diff_ids: [] },
      created: '2024-01-01T00:00:00Z',
      architecture: 'arm64',
      variant: 'v8',
      os: 'linux',
      config: { Entrypoint: ['/app'], Cmd: null, Labels: null },
    });
  });

  it.each([
    ['{}', /rootfs must be an object, got nothing/],
    ['{"rootfs":{"type":"layer","diff_ids":[]}}', /rootfs\.type must be "layers", got "layer"/],
    ['{"rootfs":{"diff_ids":[]}}', /rootfs\.type must be "layers", got nothing/],
    ['{"rootfs":{"type":"layers"}}', /rootfs\.diff_ids must be an array, got nothing/],
    [`{"rootfs":{"type":"layers","diff_ids":["${d('a')}","sha256:xyz"]}}`, /rootfs\.diff_ids\[1\].*sha256:xyz/],
    [`{"rootfs":{"type":"layers","diff_ids":["${d('A')}"]}}`, /lowercase hex/],
    ['{"rootfs":{"type":"layers","diff_ids":[7]}}', /rootfs\.diff_ids\[0\] must be a string, got number 7/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"architecture":1}', /architecture must be a string/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"os.version":[]}', /\["os\.version"\] must be a string, got an array/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":[]}', /config must be an object, got an array/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"User":0}}', /config\.User must be a string, got number 0/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":"A=1"}}', /config\.Env must be an array/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Env":["A=1",null]}}', /config\.Env\[1\] must be a string, got null/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Entrypoint":"/bin/sh"}}', /config\.Entrypoint must be an array/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Cmd":[1]}}', /config\.Cmd\[0\] must be a string/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"a":1}}}', /config\.Labels\.a must be a string/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"ExposedPorts":{"80/tcp":true}}}', /config\.ExposedPorts\["80\/tcp"\] must be an object/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Volumes":[]}}', /config\.Volumes must be an object/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Healthcheck":{"Interval":-1}}}', /config\.Healthcheck\.Interval must be a non-negative integer/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"config":{"Healthcheck":{"Test":"x"}}}', /config\.Healthcheck\.Test must be an array/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"history":{}}', /history must be an array/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"history":[{"empty_layer":"yes"}]}', /history\[0\]\.empty_layer must be true or false/],
    ['{"rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":1}]}', /history\[0\]\.created_by must be a string/],
    ['[]', /the document must be an object/],
  ])('refuses %s', (json, pattern) => {
    const error = refusal(json);
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/^config c: /);
    expect(error.message).toMatch(pattern);
  });

  it('refuses strict-JSON violations', () => {
    expect(refusal('{"rootfs":{"type":"layers","diff_ids":[]},"os":"linux","os":"windows"}').message).toMatch(/duplicate key "os"/);
    expect(refusal('{"rootfs":1').code).toBe('INVALID_JSON');
  });

  it('never reads a truncated config', () => {
    const bytes = enc(DOCKER_CONFIG);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), (n) => {
        try {
          parseImageConfig(bytes.subarray(0, n));
        } catch (error) {
          expect(isTollgateError(error)).toBe(true);
          return;
        }
        throw new Error(`truncated config of ${n} bytes parsed`);
      }),
    );
  });
});
