import { describe, expect, it } from 'vitest';
import { isLoopbackRegistry, parseReference, registryEndpointHost } from '@tollgate/core';

describe('registryEndpointHost', () => {
  it('sends Docker Hub to registry-1.docker.io and leaves others alone', () => {
    expect(registryEndpointHost(parseReference('nginx').registry)).toBe('registry-1.docker.io');
    expect(registryEndpointHost(parseReference('index.docker.io/a/b').registry)).toBe('registry-1.docker.io');
    expect(registryEndpointHost('ghcr.io')).toBe('ghcr.io');
    expect(registryEndpointHost('localhost:5000')).toBe('localhost:5000');
  });
});

describe('isLoopbackRegistry', () => {
  it.each([
    'localhost',
    'localhost:5000',
    'LOCALHOST:5000',
    '127.0.0.1',
    '127.0.0.1:5000',
    '127.255.255.254:80',
    '[::1]',
    '[::1]:5000',
    '[0:0:0:0:0:0:0:1]:5000',
    '[::ffff:7f00:1]:5000',
    '[::ffff:127.0.0.1]',
  ])('%s is loopback', (registry) => expect(isLoopbackRegistry(registry)).toBe(true));

  it.each([
    'docker.io',
    'localhost.example.com',
    'localhost.',
    'mylocalhost:5000',
    '128.0.0.1',
    '127.0.0.256',
    '127.1',
    '127.0.0.1.example.com',
    '10.0.0.1:5000',
    '[::2]',
    '[::1',
    '[::1]x',
    '[::1]:port',
    'localhost:5000:1',
    '[::ffff:8.8.8.8]',
    '',
  ])('%s is not loopback', (registry) => expect(isLoopbackRegistry(registry)).toBe(false));
});
