#!/usr/bin/env bash
# A real single-node SLURM cluster for the tests: munge, MariaDB, slurmdbd, slurmctld and slurmd, all
# from Debian's packages, started by hand (no systemd) with their state under one folder.
#
#   tests/slurm/cluster.sh start    # install the packages if missing (apt-get update first), start what is not running
#   tests/slurm/cluster.sh stop     # stop only the daemons this script started; remove the state folder
#   tests/slurm/cluster.sh env      # print `export SLURM_CONF=...` for the clients (sbatch, squeue, sacct, ...)
#
# Idempotent: `start` twice starts nothing new. The state folder ($UQNB_SLURM_STATE, default
# /tmp/uqnb-slurm) holds the configs, the controller's state, the accounting database and the logs;
# job ids restart at 1 with a fresh controller state, so the accounting database lives and dies with
# it (stale accounting rows would collide). Ports: $UQNB_SLURM_PORT (default 16817) for slurmctld, +1 slurmd,
# +2 slurmdbd, +3 MariaDB (loopback only), so clusters of several checkouts can run side by side; munged is
# shared (one that works is used, not started). Exit code 3: the packages cannot be installed (or no root).
set -euo pipefail
STATE=${UQNB_SLURM_STATE:-/tmp/uqnb-slurm}
CTLD_PORT=${UQNB_SLURM_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1)); DBD_PORT=$((CTLD_PORT + 2)); MYSQL_PORT=$((CTLD_PORT + 3))
NODE=$(hostname -s)
PKGS="slurmctld slurmd slurm-client slurmdbd munge mariadb-server"
export SLURM_CONF=$STATE/slurm.conf

log() { echo "[slurm] $*" >&2; }
trap 'log "failed at line $LINENO: $BASH_COMMAND (logs in $STATE)"' ERR
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_for() {  # wait_for SECONDS WHAT CMD...
  local n=$(( $1 * 5 )) what=$2; shift 2
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "$what did not come up; logs in $STATE"; return 1
}
started() { echo "$1 $2" >> "$STATE/started"; }   # name pidfile: what `stop` may stop

install() {
  local missing=0
  if [[ $(id -u) != 0 ]]; then log "needs root to install the packages and start the daemons"; exit 3; fi
  for b in slurmctld slurmd slurmdbd sbatch munged mariadbd mariadb-install-db; do
    command -v $b >/dev/null 2>&1 || [[ -x /usr/sbin/$b ]] || missing=1
  done
  [[ $missing == 0 ]] && return 0
  log "installing $PKGS (apt-get) ..."
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PKGS; } > "${TMPDIR:-/tmp}/uqnb-slurm-apt.log" 2>&1; then
    log "cannot install $PKGS: $(tail -n 1 "${TMPDIR:-/tmp}/uqnb-slurm-apt.log") (log: ${TMPDIR:-/tmp}/uqnb-slurm-apt.log)"
    exit 3
  fi
}

configs() {
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 8 / 10 ))
  cat > "$STATE/slurm.conf" <<EOF
ClusterName=uqnb
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
InactiveLimit=0
Waittime=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  cat > "$STATE/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=$NODE
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$STATE/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=root
StorageLoc=uqnb_slurm_acct
EOF
  chmod 600 "$STATE/slurmdbd.conf"
}

start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi  # a working munged: use it
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 755 /run/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged --force
  started munged /run/munge/munged.pid
  wait_for 10 munged bash -c 'munge -n | unmunge'
}

start_mariadb() {
  local db=$STATE/mysql
  alive "$STATE/mysqld.pid" && return 0
  if [[ ! -d $db/mysql ]]; then
    mkdir -p "$db"
    mariadb-install-db --user=root --datadir="$db" --skip-test-db > "$STATE/mysql-install.log" 2>&1
  fi
  # as root: the state folder may sit where the mysql user cannot go (pytest's 0700 temporary folders);
  # no grant tables: only slurmdbd talks to it, on the loopback port
  /usr/sbin/mariadbd --user=root --datadir="$db" --port=$MYSQL_PORT --bind-address=127.0.0.1 \
    --socket="$db/mysqld.sock" --pid-file="$db/mysqld.pid" --log-error="$db/mysqld.log" --skip-grant-tables \
    > /dev/null 2>&1 &
  wait_for 30 mariadbd test -s "$db/mysqld.pid"
  cp "$db/mysqld.pid" "$STATE/mysqld.pid"
  started mariadbd "$STATE/mysqld.pid"
  wait_for 30 "mariadb port $MYSQL_PORT" bash -c "echo > /dev/tcp/127.0.0.1/$MYSQL_PORT"
}

start_slurm() {
  mkdir -p "$STATE/ctld" "$STATE/slurmd"
  if ! alive "$STATE/slurmdbd.pid"; then
    /usr/sbin/slurmdbd   # reads slurmdbd.conf beside $SLURM_CONF
    wait_for 30 slurmdbd test -s "$STATE/slurmdbd.pid"; started slurmdbd "$STATE/slurmdbd.pid"
    wait_for 30 "slurmdbd port $DBD_PORT" bash -c "echo > /dev/tcp/127.0.0.1/$DBD_PORT"
  fi
  sacctmgr -i add cluster uqnb > /dev/null 2>&1 || true   # exists already: fine
  if ! alive "$STATE/slurmctld.pid"; then
    /usr/sbin/slurmctld -f "$SLURM_CONF"
    wait_for 30 slurmctld test -s "$STATE/slurmctld.pid"; started slurmctld "$STATE/slurmctld.pid"
  fi
  if ! alive "$STATE/slurmd.pid"; then
    /usr/sbin/slurmd -f "$SLURM_CONF" -N "$NODE"
    wait_for 30 slurmd test -s "$STATE/slurmd.pid"; started slurmd "$STATE/slurmd.pid"
  fi
  wait_for 60 "node $NODE idle" bash -c "sinfo -h -n $NODE -o %T | grep -qx idle"
}

stop() {
  [[ -f $STATE/started ]] || { log "nothing started by this script in $STATE"; return 0; }
  # stop in reverse order of starting: slurmd, slurmctld, slurmdbd, mariadbd, munged
  tac "$STATE/started" | while read -r name pidfile; do
    if alive "$pidfile"; then
      local pid; pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      log "stopped $name ($pid)"
    fi
  done
  rm -rf "$STATE"
}

case "${1:-}" in
  start)
    install
    mkdir -p "$STATE"
    configs
    start_munge
    start_mariadb
    start_slurm
    log "up: node $NODE, SLURM_CONF=$SLURM_CONF"
    echo "export SLURM_CONF=$SLURM_CONF" ;;
  stop) stop ;;
  env) echo "export SLURM_CONF=$SLURM_CONF" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
