import { isIP } from "node:net";

/**
 * What may reach `virsh` as a name or a URI. Commands are argument arrays (no shell), so the
 * danger is not shell injection but an argument virsh would read as something else: a name
 * starting with `-` taken for an option, whitespace or control characters, or a URI with a
 * driver we never meant to talk to. Everything is checked here before a command is built.
 */

/** Host and VM ids, and domain names: letters, digits, `.`, `_`, `-`, not starting with `-` or `.`. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class InvalidName extends Error {}

export function checkName(what: string, name: string): string {
  if (!NAME_PATTERN.test(name)) throw new InvalidName(`${what} ${JSON.stringify(name)} is not a valid name (letters, digits, '.', '_', '-'; at most 63; not starting with '-' or '.')`);
  return name;
}

/** Connection URI schemes the adapter accepts: QEMU (local, ssh, tcp, tls, unix) and libvirt's test driver. */
export const URI_SCHEMES = ["qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix", "qemu+libssh2", "test", "test+unix"] as const;

/**
 * The query parameters a URI may carry, and what their values must look like. libvirt's remote
 * driver reads others that run programs or reach a shell: `command` (the ssh binary), `netcat`
 * (the remote command), `name` (another driver's URI, around the allowed schemes), `mode`,
 * `proxy`, `pkipath`, `known_hosts`... — none is accepted. `socket` is the daemon's UNIX socket
 * (session daemons, `hosts.sh`), `keyfile` an ssh key; both absolute paths of plain characters,
 * since on `qemu+ssh` the socket reaches the remote `sh -c` unquoted. `no_verify` (TLS) and
 * `no_tty` (ssh) are 0 or 1. The inventory is operator configuration, but a copied one must not
 * run a program either.
 */
export const URI_PARAMETERS: Readonly<Record<string, { pattern: RegExp; expected: string }>> = {
  socket: { pattern: /^\/[A-Za-z0-9._/-]{1,200}$/, expected: "an absolute path of letters, digits, '.', '_', '-', '/'" },
  keyfile: { pattern: /^\/[A-Za-z0-9._/-]{1,200}$/, expected: "an absolute path of letters, digits, '.', '_', '-', '/'" },
  no_verify: { pattern: /^[01]$/, expected: "0 or 1" },
  no_tty: { pattern: /^[01]$/, expected: "0 or 1" },
};

/** Returns null if the URI may be used, else what is wrong with it. */
export function uriProblem(uri: string): string | null {
  if (uri.length > 1024) return "too long";
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return "contains whitespace or control characters";
  if (uri.startsWith("-")) return "starts with '-'";
  const scheme = /^([a-z0-9+]+):\/\//.exec(uri)?.[1];
  if (scheme === undefined) return "expected a libvirt URI like qemu:///system or qemu+ssh://host/system";
  if (!(URI_SCHEMES as readonly string[]).includes(scheme)) return `scheme ${scheme} is not one of ${URI_SCHEMES.join(", ")}`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "not a valid URI";
  }
  if (url.hash !== "") return "expected no #fragment";
  if (url.password !== "") return "expected no password in the URI";
  if (url.username !== "" && !/^[A-Za-z0-9._-]{1,32}$/.test(decodeURIComponent(url.username))) return "expected a user name of letters, digits, '.', '_', '-'";
  const seen = new Set<string>();
  for (const [key, value] of url.searchParams) {
    const rule = Object.hasOwn(URI_PARAMETERS, key) ? URI_PARAMETERS[key] : undefined;
    if (!rule) return `query parameter ${JSON.stringify(key.slice(0, 40))} is not allowed (allowed: ${Object.keys(URI_PARAMETERS).join(", ")})`;
    if (seen.has(key)) return `query parameter ${key} given twice`;
    seen.add(key);
    if (!rule.pattern.test(value)) return `query parameter ${key}: expected ${rule.expected}, got ${JSON.stringify(value.slice(0, 60))}`;
  }
  return null;
}

/** An IPv4/IPv6 address or a host name for QEMU's migration stream (`--migrateuri tcp://ADDR`). */
export function addressProblem(address: string): string | null {
  if (isIP(address) !== 0) return null;
  // Not an IP address, so it must be a host name: `1.2.3` and `::::` are neither.
  if (/^[\d.]+$/.test(address)) return "not an IPv4 address";
  if (address.includes(":")) return "not an IPv6 address";
  if (/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(address)) return null;
  return "expected an IP address or a host name";
}
