import { FaultProxy } from '../harness/fault-proxy.js'
import { ImagePusher } from '../harness/images.js'
import type { TestRegistry } from '../harness/registry.js'

/**
 * The real registry with one image, `library/app:v1`, behind a fault-injecting proxy: what
 * the registry-fault and hostile-registry tests stand on. The caller stops it.
 */
export async function startFaultyRegistry(
  registry: TestRegistry
): Promise<{ proxy: FaultProxy; digest: string }> {
  await registry.start()
  const proxy = await new FaultProxy(registry.url).start()
  const pushed = await new ImagePusher(registry).pushImage(
    'library/app',
    { env: ['A=1'] },
    { tag: 'v1' }
  )
  return { proxy, digest: pushed.digest }
}

export async function stopFaultyRegistry(registry: TestRegistry, proxy: FaultProxy): Promise<void> {
  await proxy.stop()
  await registry.stop()
}
