import { OutpostError } from '../../../lib/errors/index.js';
import { RuntimeErrorCode } from '../types.js';

/** Connection options every helm command takes. */
export interface HelmConnection {
  kubeconfig?: string;
  kubeContext?: string;
}

export interface HelmUpgrade extends HelmConnection {
  release: string;
  /** `oci://host/repo/chart` or a local chart (`.tgz` / directory). */
  chart: string;
  /** SemVer (with `+`, not the OCI tag's `_`). Omitted for a local chart. */
  version?: string;
  namespace: string;
  wait: boolean;
  /** Go duration such as `8m30s`. */
  timeout?: string;
  /** Values as a file (`--values`), or as `--set-json path=json` pairs. */
  values: { file: string } | { setJson: Record<string, unknown> };
  /** OCI registry over plain HTTP (`--plain-http`, helm ≥ 3.13), e.g. the site registry on loopback. */
  plainHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  description?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RELEASE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TIMEOUT = /^(\d+h)?(\d+m)?(\d+s)?$/;

function bad(message: string): OutpostError {
  return new OutpostError(RuntimeErrorCode.invalidSpec, message, { status: 400 });
}

export function checkRelease(release: string): void {
  if (release.length > 53 || !RELEASE.test(release))
    throw bad(`helm release name ${JSON.stringify(release)} is not valid (DNS-1123, at most 53 characters)`);
}

export function checkNamespace(ns: string): void {
  if (ns.length > 63 || !DNS_LABEL.test(ns))
    throw bad(`namespace ${JSON.stringify(ns)} is not a valid DNS-1123 label`);
}

export function checkTimeout(t: string): void {
  if (t === '' || !TIMEOUT.test(t)) throw bad(`timeout ${JSON.stringify(t)} is not a duration like 8m30s`);
}

function connection(c: HelmConnection): string[] {
  return [
    ...(c.kubeconfig ? ['--kubeconfig', c.kubeconfig] : []),
    ...(c.kubeContext ? ['--kube-context', c.kubeContext] : []),
  ];
}

/** `helm upgrade --install <release> <chart> --version <v> --namespace <ns> --create-namespace ...` */
export function helmUpgradeArgs(u: HelmUpgrade): string[] {
  checkRelease(u.release);
  checkNamespace(u.namespace);
  if (u.timeout !== undefined) checkTimeout(u.timeout);
  if (u.chart.startsWith('-')) throw bad(`chart reference ${JSON.stringify(u.chart)} may not start with "-"`);
  const a = ['upgrade', '--install', u.release, u.chart];
  if (u.version) a.push('--version', u.version);
  a.push('--namespace', u.namespace, '--create-namespace');
  if ('file' in u.values) a.push('--values', u.values.file);
  else
    for (const [k, v] of Object.entries(u.values.setJson)) a.push('--set-json', `${k}=${JSON.stringify(v)}`);
  if (u.wait) a.push('--wait');
  if (u.timeout) a.push('--timeout', u.timeout);
  if (u.plainHttp) a.push('--plain-http');
  if (u.insecureSkipTlsVerify) a.push('--insecure-skip-tls-verify');
  if (u.description) a.push('--description', u.description);
  return [...a, ...connection(u)];
}

export function helmUninstallArgs(
  u: HelmConnection & { release: string; namespace: string; wait?: boolean; timeout?: string },
): string[] {
  checkRelease(u.release);
  checkNamespace(u.namespace);
  if (u.timeout !== undefined) checkTimeout(u.timeout);
  return [
    'uninstall',
    u.release,
    '--namespace',
    u.namespace,
    ...(u.wait ? ['--wait'] : []),
    ...(u.timeout ? ['--timeout', u.timeout] : []),
    ...connection(u),
  ];
}

export function helmStatusArgs(u: HelmConnection & { release: string; namespace: string }): string[] {
  checkRelease(u.release);
  checkNamespace(u.namespace);
  return ['status', u.release, '--namespace', u.namespace, '--output', 'json', ...connection(u)];
}
