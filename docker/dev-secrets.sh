#!/usr/bin/env bash
# Make the local secrets docker-compose.yml needs, once, from the repository root:  docker/dev-secrets.sh
#   .env                          passwords and the pseudonym key (random; .env is git-ignored)
#   .secrets/                     SSH keys (the folder ignores itself: .secrets/.gitignore)
#     sftp_host_ed25519_key(.pub) the drop server's host key
#     sftp_known_hosts            that key pinned for host `sftp` (agent and platform reject any other)
#     agent_sftp_key(.pub)        the site agent's login key
#     platform_sftp_key(.pub)     the platform's login key (it reads and moves the drops)
# Nothing existing is overwritten. The client keys are mode 0644 inside the 0700 folder: compose mounts
# them as they are and the containers run as uid 10001, not as you.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v ssh-keygen >/dev/null || { echo "dev-secrets.sh: needs ssh-keygen (openssh-client)" >&2; exit 1; }

dir=.secrets
mkdir -p "$dir" && chmod 700 "$dir"
[ -f "$dir/.gitignore" ] || printf '*\n' > "$dir/.gitignore"

key() {  # key NAME MODE: an ed25519 key pair without passphrase
    [ -f "$dir/$1" ] || ssh-keygen -q -t ed25519 -N '' -C "medvault-$1" -f "$dir/$1"
    chmod "$2" "$dir/$1"
}
key sftp_host_ed25519_key 600   # read by root (sshd) in the sftp container
key agent_sftp_key 644
key platform_sftp_key 644
[ -f "$dir/sftp_known_hosts" ] || echo "sftp $(cut -d' ' -f1,2 "$dir/sftp_host_ed25519_key.pub")" > "$dir/sftp_known_hosts"
chmod 644 "$dir/sftp_known_hosts"

random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32; }
if [ ! -f .env ]; then
    umask 077
    {
        echo "# made by docker/dev-secrets.sh (git-ignored); see docker/env.example"
        echo "POSTGRES_PASSWORD=$(random)"
        echo "PACS_ROOT_PASSWORD=$(random)"
        echo "PACS_AGENT_PASSWORD=$(random)"
        echo "MEDVAULT_PSEUDONYM_KEY=$(random)"
    } > .env
fi
echo "secrets ready: .env and $dir/ (host key fingerprint: $(ssh-keygen -lf "$dir/sftp_host_ed25519_key.pub"))"
