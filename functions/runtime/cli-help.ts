// Help texts for the `greygate` command. Kept apart so the entry file stays about wiring.

export const TOP_HELP = `usage: greygate <command> [options]

commands:
  serve     run the policy server (Postfix policy protocol + HTTP API, SQLite store)
  bridge    run greygate-bridge: a Postfix policy socket in front of a remote greygate API
            (\`greygate bridge --help\`; docs/bridge.md)
  create-table --table NAME [--dynamodb-endpoint URL]
            create the DynamoDB table as the CDK stack does (on demand, pk, TTL on expires_at)
  token     print a new API token and the SHA-256 hash to configure
  version   print the version
  help      this text

\`greygate serve --help\` lists the serve options.
`;

export const SERVE_HELP = `usage: greygate serve [options]

Every option may also be set as an environment variable: --max-age ↔ GREYGATE_MAX_AGE
(repeatable options: comma-separated). Both --delay=2 and --delay 2 are accepted.

listeners
  -i, --inet [HOST:]PORT       policy protocol on TCP (default 127.0.0.1:10023; a bare port binds 127.0.0.1)
  -u, --unix PATH              policy protocol on a unix socket
      --socketmode MODE        unix socket permissions (default 0666)
      --exim                   close the connection after each answer
      --listen-queue-size N    socket backlog (default 511, at most 999)
      --max-connections N      concurrent policy connections (default 1000)
      --http [HOST:]PORT       HTTP API (default 127.0.0.1:8080)
      --no-http                no HTTP API
      --token-sha256 HEX       accepted API token hash (repeatable; required for a non-loopback --http)

greylisting (Postgrey's options)
      --delay N                seconds a new triplet must wait (default 300)
      --max-age N              days a passed triplet or auto-whitelisted client is kept (default 35)
      --retry-window N|Nh      time allowed for the first successful retry, days or hours (default 2)
      --greylist-action A      action when greylisting (default DEFER_IF_PERMIT)
      --greylist-text TXT      reply text; %s = seconds left, %r = recipient domain
                               (default "Greylisted, please retry in %s seconds")
      --x-greylist-header TXT  header added on first pass; %t delay, %v version, %h host, %d date
      --lookup-by-subnet       key on the client's subnet (default)
      --lookup-by-host         key on the full client address
      --ipv4cidr N             IPv4 prefix for subnet keys (default 24)
      --ipv6cidr N             IPv6 prefix for subnet keys (default 64)
      --auto-whitelist-clients[=N]  whitelist a client after N passed triplets (default 5; 0 disables)
      --whitelist-clients FILE     client whitelist (repeatable; replaces the default list)
      --whitelist-recipients FILE  recipient whitelist (repeatable; replaces the default list)
      --privacy                store keyed hashes (HMAC-SHA-256) instead of addresses
      --hostname NAME          value of %h (default: this host's name)

selective greylisting (docs/selective-greylisting.md; all off by default)
      --selective off|s25r|score  off: greylist every client (Postgrey); s25r: only clients whose
                               reverse DNS looks dynamic (S25R); score: S25R and DNS lists add up
      --s25r-ipv6 apply|skip   judge IPv6 clients by the S25R rules too (default apply) or never
      --greylist-score N       score mode: greylist from this score on (default 1)
      --s25r-weight N          score mode: what an S25R match adds (default 1)
      --dnsbl ZONE[=W]         score mode: a DNS block list, a hit adds W (default 1; repeatable)
      --dnswl ZONE[=W]         score mode: a DNS allow list, a hit subtracts W (default 10; repeatable)
      --dns-timeout-ms N       score mode: the DNS lists answer within this or count as nothing (default 1000)
      --dns-servers IP[:PORT]  score mode: resolvers to ask (repeatable; default: /etc/resolv.conf)

storage and logs
      --store sqlite|dynamodb  where greylist state lives (default sqlite)
      --table NAME             DynamoDB table (with --store dynamodb)
      --dynamodb-endpoint URL  a DynamoDB-API endpoint such as dynalite (default: AWS)
      --dbdir DIR              database directory (default ./data)
      --sqlite-sync normal|full  normal (default) keeps every answered decision through a process
                               crash; full also through a power loss, at an fsync per commit
      --log-format text|json   Postgrey-style lines (default) or JSON lines, on stderr
  -v, --verbose                more logging
  -q, --quiet                  no per-request lines

signals: SIGHUP reloads the whitelists; SIGTERM finishes open requests and exits.
`;
