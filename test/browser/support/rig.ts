/** The browser tier's shared setup: a cluster, Chromium and front doors from addresses nginx sends to different instances. */
import type { Browser } from 'playwright-core';
import { startCluster, type StartClusterOptions, type TestCluster } from '../../helpers/cluster.js';
import { launchBrowser } from './chromium.js';
import { distinctSources, startFrontDoor, type FrontDoor } from './front-door.js';

export interface BrowserRig {
  readonly cluster: TestCluster;
  readonly browser: Browser;
  /** One per requested door, each from an address nginx hashes to a different instance. */
  readonly doors: readonly FrontDoor[];
  /** The instance id each door's address reaches (same order as doors). */
  readonly instances: readonly string[];
  /** The door at `i`; throws when there is none. */
  door(i: number): FrontDoor;
  /** Closes the browser, the doors and the cluster (what was started). */
  stop(): Promise<void>;
}

/** Starts the cluster and Chromium together, then `doors` front doors to pairwise different instances. */
export async function startBrowserRig(cluster: StartClusterOptions, doors: number): Promise<BrowserRig> {
  const [clusterStart, browserStart] = await Promise.allSettled([startCluster(cluster), launchBrowser()]);
  if (clusterStart.status === 'rejected' || browserStart.status === 'rejected') {
    // Close whichever did start before reporting the failure.
    if (browserStart.status === 'fulfilled') await browserStart.value.close();
    if (clusterStart.status === 'fulfilled') await clusterStart.value.stop();
    throw clusterStart.status === 'rejected'
      ? clusterStart.reason
      : (browserStart as PromiseRejectedResult).reason;
  }
  const started = clusterStart.value;
  const browser = browserStart.value;
  const opened: FrontDoor[] = [];
  const instances: string[] = [];
  const stop = async (): Promise<void> => {
    await browser.close();
    await Promise.all(opened.map((d) => d.close()));
    await started.stop();
  };
  try {
    for (const source of await distinctSources(started, doors)) {
      opened.push(await startFrontDoor(started.nginxUrl, source.from));
      instances.push(source.instance);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    cluster: started,
    browser,
    doors: opened,
    instances,
    door(i) {
      const d = opened[i];
      if (d === undefined) throw new Error(`no front door ${i}`);
      return d;
    },
    stop,
  };
}
