// A client whitelist of a million lines, as a site that whitelists whole provider ranges and
// partner hosts may have: IPv4 hosts and networks, IPv6 networks, hostnames, a few regexes, a few
// comments and a few broken lines. Every entry is distinct, so the loaded count is known.
//
// Line i + 1 holds, by i % 10:
//   0–2  an IPv4 host   10.a.b.c, the 24 bits of i
//   3    an IPv4 /28    11.a.b.c/28, i shifted left by 4 bits
//   4    an IPv6 /64    2001:db8:<i high 16 bits>:<i low 16 bits>::/64
//   5–8  a hostname     mx<i>.sender<i % 1000>.<domain>
//   9    a hostname     host<i>.<domain>, except a regex every 100,000 lines and a broken line
//        every 250,000 (REGEX_LINES, BROKEN_LINES)

export const MILLION = 1_000_000;

/** Lines (1-based) holding `/^relay<i>-[0-9]+\.<domain>$/`. */
export const REGEX_LINES = [10, 100_010, 200_010, 300_010, 400_010, 500_010, 600_010, 700_010, 800_010, 900_010];
/** Lines (1-based) holding `bad entry <i>`, which is no hostname: 4 warnings. */
export const BROKEN_LINES = [20, 250_020, 500_020, 750_020];
/** The distinct usable entries the file holds. */
export const MILLION_ENTRIES = MILLION - BROKEN_LINES.length;

function hex(n: number): string {
  return n.toString(16);
}

/** The IPv4 address of the host entry for i (i % 10 < 3). */
export function ipv4HostOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** An address inside the IPv6 network entry for i (i % 10 === 4). */
export function ipv6InsideOf(i: number): string {
  return `2001:db8:${hex(i >>> 16)}:${hex(i & 0xffff)}:1:2:3:4`;
}

/** `domain` tells two versions of the file apart (before and after a reload). */
export function millionLineWhitelist(domain: string): string {
  const lines = new Array<string>(MILLION);
  for (let i = 0; i < MILLION; i++) {
    const line = i + 1;
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
        lines[i] = ipv4HostOf(i);
        break;
      case 3: {
        const value = i << 4;
        lines[i] = `11.${(value >> 16) & 255}.${(value >> 8) & 255}.${value & 255}/28`;
        break;
      }
      case 4:
        lines[i] = `2001:db8:${hex(i >>> 16)}:${hex(i & 0xffff)}::/64   # partner ${i}`;
        break;
      case 9:
        if (REGEX_LINES.includes(line)) lines[i] = `/^relay${i}-[0-9]+\\.${domain.replaceAll('.', '\\.')}$/`;
        else if (BROKEN_LINES.includes(line)) lines[i] = `bad entry ${i}`;
        else lines[i] = `host${i}.${domain}`;
        break;
      default:
        lines[i] = `mx${i}.sender${i % 1000}.${domain}`;
    }
  }
  return `${lines.join('\n')}\n`;
}
