// The persisted form of a container, Docker-shaped so inspect can be served from it.
import type { ContainerConfigView } from '../../../common/docker.ts';
import type { ContainerState, HostConfig, MountPoint, NetworkSettings } from '../../../common/models.ts';
import type { ProcessRef } from '../sys/proc.ts';

export type ContainerConfig = ContainerConfigView;

/** A mount point as persisted: Docker's fields plus what the runtime needs. */
export interface ContainerMount extends MountPoint {
  /** tmpfs mount data (size=…,mode=…) */
  Data?: string;
  /** do not copy the image's content into an empty volume */
  NoCopy?: boolean;
  anonymous?: boolean;
}


export interface RuntimeInfo {
  pid: number;
  starttime: number;
  runDir: string;
  /** the helper process serving the container's published TCP ports */
  proxy?: ProcessRef;
}

export interface ContainerRecord {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Image: string;
  ImageID: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: ContainerState;
  RestartCount: number;
  NetworkSettings?: NetworkSettings;
  Mounts?: ContainerMount[];
  runtime?: RuntimeInfo;
  /**
   * The intent of a start, written before anything of it is made (mount, cgroup, run directory,
   * interfaces, shim) and cleared with its outcome: an engine that finds it set at startup died
   * in that start and removes whatever of it exists.
   */
  starting?: string;
  /** set by an explicit stop: unless-stopped and always do not restart it */
  stoppedByUser?: boolean;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
    Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}
