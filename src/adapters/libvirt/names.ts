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

/** Returns null if the URI may be used, else what is wrong with it. */
export function uriProblem(uri: string): string | null {
  if (uri.length > 1024) return "too long";
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return "contains whitespace or control characters";
  if (uri.startsWith("-")) return "starts with '-'";
  const scheme = /^([a-z0-9+]+):\/\//.exec(uri)?.[1];
  if (scheme === undefined) return "expected a libvirt URI like qemu:///system or qemu+ssh://host/system";
  if (!(URI_SCHEMES as readonly string[]).includes(scheme)) return `scheme ${scheme} is not one of ${URI_SCHEMES.join(", ")}`;
  try {
    new URL(uri);
  } catch {
    return "not a valid URI";
  }
  return null;
}

/** An IPv4/IPv6 address or a host name for QEMU's migration stream (`--migrateuri tcp://ADDR`). */
export function addressProblem(address: string): string | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return address.split(".").every((p) => Number(p) <= 255) ? null : "not an IPv4 address";
  if (/^[0-9A-Fa-f:]+$/.test(address) && address.includes(":")) return null;
  if (/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(address)) return null;
  return "expected an IP address or a host name";
}
