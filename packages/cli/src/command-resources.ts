/**
 * What a command opened that must be let go when it ends, however it ends (done, failed, returned early): a PKCS#11
 * key's login, session and loaded module. Whoever opens such a thing registers its release here; withStatus, around
 * every action, releases them in a `finally`, last opened first. One command runs at a time (as with runStatus).
 */
const releases: (() => Promise<void>)[] = [];

export function releaseWhenCommandEnds(release: () => Promise<void>): void {
  releases.push(release);
}

/** Runs every registered release, last first; one failing does not keep the others from running, nor hide the command's own error. */
export async function releaseCommandResources(): Promise<void> {
  for (let release = releases.pop(); release !== undefined; release = releases.pop()) {
    await release().catch(() => undefined);
  }
}
