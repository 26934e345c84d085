/**
 * Where the server may connect on a user's behalf (webhook targets, S3 storage endpoints): every
 * address a host name resolves to must be public (ipaddr.js's "unicast" range: not private,
 * loopback, link-local, carrier-grade NAT, unique local, multicast, reserved or unspecified;
 * IPv4-mapped IPv6 is judged as the IPv4 address it carries), unless an allowed network
 * contains it; denied networks are refused even when public. The connection then goes to the
 * address that was checked, never to a second lookup (DNS rebinding): webhook deliveries connect
 * to it themselves, other clients take `guardedLookup` as their sockets' resolver.
 */
import type { LookupAddress, LookupOptions } from "node:dns";
import { lookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

/** One policy for every outbound connection a user can point the server at. */
export interface NetworkPolicy {
  /** CIDRs reachable even inside a refused range (TASKPORT_OUTBOUND_ALLOW_NETWORKS). */
  allowNetworks?: readonly string[];
  /** CIDRs refused even when public (TASKPORT_OUTBOUND_DENY_NETWORKS). */
  denyNetworks?: readonly string[];
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses CIDRs (a bare address is a /32 or /128); throws naming the bad entry. */
export function parseNetworks(name: string, list: readonly string[] = []): Cidr[] {
  return list.map((entry) => {
    const text = entry.trim();
    try {
      return text.includes("/")
        ? ipaddr.parseCIDR(text)
        : ([ipaddr.parse(text), ipaddr.parse(text).kind() === "ipv4" ? 32 : 128] as Cidr);
    } catch {
      throw new Error(`${name}: "${text}" is not an address or a CIDR (e.g. 127.0.0.0/8).`);
    }
  });
}

function normalized(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    return (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed;
}

function within(address: ipaddr.IPv4 | ipaddr.IPv6, networks: Cidr[]): boolean {
  return networks.some(
    ([net, bits]) => net.kind() === address.kind() && address.match([net, bits] as never),
  );
}

// Each list parsed once: a policy's lists are read for every connection it guards.
const parsedLists = new WeakMap<readonly string[], Cidr[]>();

function networks(name: string, list: readonly string[] | undefined): Cidr[] {
  if (!list) return [];
  let parsed = parsedLists.get(list);
  if (!parsed) {
    parsed = parseNetworks(name, list);
    parsedLists.set(list, parsed);
  }
  return parsed;
}

/** Why an address may not be reached, or null when it may. */
export function addressRefusal(address: string, policy: NetworkPolicy): string | null {
  const ip = normalized(address);
  const allow = networks("allowNetworks", policy.allowNetworks);
  const deny = networks("denyNetworks", policy.denyNetworks);
  if (within(ip, deny)) return `${address} is in a denied network`;
  if (within(ip, allow)) return null;
  const range = ip.range();
  if (range !== "unicast") return `${address} is a ${range} address`;
  return null;
}

export class TargetRefused extends Error {
  override name = "TargetRefused";
}

/** The addresses `hostname` stands for, each checked; throws TargetRefused naming the first bad one. */
export async function resolveTarget(
  hostname: string,
  policy: NetworkPolicy,
): Promise<{ address: string; family: 4 | 6 }[]> {
  const bare = hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(bare)
    ? [{ address: bare, family: isIP(bare) as 4 | 6 }]
    : (await lookup(bare, { all: true, verbatim: true })).map((a) => ({
        address: a.address,
        family: a.family as 4 | 6,
      }));
  if (addresses.length === 0) throw new TargetRefused(`${hostname} has no address`);
  for (const { address } of addresses) {
    const refusal = addressRefusal(address, policy);
    if (refusal) throw new TargetRefused(`${hostname} refused: ${refusal}`);
  }
  return addresses;
}

/**
 * A socket resolver (the `lookup` option of `net.connect` and of an HTTP agent) that answers only
 * checked addresses, so a client connects where the policy allows at the moment it connects.
 * Node skips the resolver for an address literal: check those with `resolveTarget` first.
 */
export function guardedLookup(policy: NetworkPolicy): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolveTarget(hostname, policy).then(
      (addresses) => {
        const wanted = options.family
          ? addresses.filter((a) => a.family === options.family)
          : addresses;
        const first = wanted[0];
        if (!first) {
          callback(
            Object.assign(new Error(`${hostname} has no IPv${options.family} address`), {
              code: "ENOTFOUND",
            }),
            "",
          );
        } else if (options.all) callback(null, wanted as LookupAddress[]);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ""),
    );
  };
}
