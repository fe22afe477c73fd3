#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for tests: munged, slurmctld and slurmd started
# by hand (no systemd, no init scripts, nothing under /etc or /run), everything under DIR: own munge
# key and socket, generated slurm.conf (random free ports, 20000-31999), state, spool, logs, pid
# files. The node "node1" is this machine (127.0.0.1) with the CPUs and memory `slurmd -C` reports;
# one partition "debug" (default). Run as root (SlurmUser=root). Clusters may run side by side.
#
#   cluster.sh up DIR       start a fresh cluster under DIR (DIR's state, spool, logs and
#                           jobcomp.txt from an earlier run are wiped: job ids start at 1 again),
#                           wait until sinfo shows the node idle, write DIR/env.sh; prints its path
#   cluster.sh down DIR     kill every job step and task, stop slurmd, slurmctld, munged
#   cluster.sh status DIR   which daemons run, sinfo, squeue (exit 1 if a daemon is missing)
#
# A client needs only `source DIR/env.sh` (it exports SLURM_CONF, and TESTBED_SLURM_DIR and
# TESTBED_SLURM_JOBCOMP for convenience; munge's socket is in slurm.conf as AuthInfo), then sbatch,
# squeue, scontrol, scancel work (without SLURM_CONF they read /etc/slurm/slurm.conf, absent).
#
# Knob (environment of `up`): TESTBED_SLURM_CPUS=N declares N CPUs for the node instead of the real
# count (SlurmdParameters=config_overrides), to run more array tasks at once than there are cores.
#
# Accounting: sacct does not work here ("Slurm accounting storage is disabled"). Debian 12's Slurm
# 22.05 has only accounting_storage/none and accounting_storage/slurmdbd (slurmdbd needs MariaDB),
# and its sacct has no --completion (reading the jobcomp file). So the cluster has
# AccountingStorageType=none and
#   - JobCompType=jobcomp/filetxt, JobCompLoc=DIR/jobcomp.txt: a line when a job or array task ends
#     ("JobId=<task's own id> ... JobState=COMPLETED|FAILED|CANCELLED|TIMEOUT ... ArrayJobId=<id>
#     ArrayTaskId=<i> DerivedExitCode=0:0 ExitCode=<code>:<signal>"), and also one with
#     JobState=PENDING when a task is requeued: take the last line per task. A cancelled task's line
#     says ExitCode=0:0 (scontrol says 0:15). Pending tasks cancelled with the whole array get one
#     line "JobId=<array id> ... JobState=CANCELLED" without ArrayTaskId; a single pending task
#     cancelled with `scancel ID_i` gets no line at all and vanishes from squeue and scontrol too.
#   - MinJobAge=3600: slurmctld keeps finished jobs in memory for an hour, so
#     `squeue -h --states=all --array -j ID -o '%K %T'` and `scontrol -o show job ID` list every
#     task's final state meanwhile (unknown/purged id: "Invalid job id specified", exit 1).
#
# Packages (Debian 12): slurmctld slurmd slurm-client 22.05.8-4+deb12u3 (+ slurm-wlm-basic-plugins,
# libhwloc15, liblua5.1-0), munge libmunge2 0.5.15-2+deb12u1: 3.2 MB download, 13.4 MB installed,
# ~4 s with --no-install-recommends. Their postinst would start the system munged/slurmd through
# /etc/init.d where no policy-rc.d forbids it; harmless (other socket, other ports), not used here.
#
# Measured on Debian 12 (2 cores, load ~4 from other work):
# `up` 0.17-0.55 s, `down` 0.2 s idle / 0.4-0.6 s with running tasks; an array of 24 `sleep 0`
# tasks, submit to all done, 0.7-1.8 s on 2 CPUs (the first task starts up to 1 s after submit:
# the 1 s scheduler passes), 1000 tasks 34 s (~29 tasks/s), 1000 tasks with TESTBED_SLURM_CPUS=24
# 18 s; `sbatch --wait --array=...` returns when all tasks ended (it polls, ~2 s), exit status the
# highest of the tasks'; scancel of a running task: CANCELLED in 0.16 s; `scontrol requeue ID_i`:
# back to PENDING, restarts 11 s later (cred_expire=10 + 1); --time=1 ends as TIMEOUT after ~87 s
# (checked every 30 s). Tasks get the submitter's environment (--export=ALL: PATH, so `node` runs
# if the submitter finds it) plus SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID (and _COUNT, _MIN, _MAX,
# _STEP), SLURM_JOB_ID (the task's own id; the array's own id goes to the last task split off the
# pending rest, the highest index here), SLURM_SUBMIT_DIR, SLURMD_NODENAME=node1, HOSTNAME=node1,
# ENVIRONMENT=BATCH. More in /work/notes/slurm.md (machine-local notes, not in git).
#
# Daemons run in their own session (setsid), stdin /dev/null: no TTY needed. slurmd runs under
# `tini -s` (a subreaper): the slurmstepd processes and job tasks it starts stay tini's descendants,
# so `down` finds and kills them by pid (tini is stopped first, or it would exit with slurmd and
# hand them to pid 1). Only processes started here are signalled, by pid.
set -euo pipefail

# munged, slurmctld and slurmd are in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

die() { echo "cluster.sh: $*" >&2; exit 2; }

need() { command -v "$1" >/dev/null || die "$1 not found (apt-get install --no-install-recommends slurmctld slurmd slurm-client munge tini)"; }

NODE=node1
PATH_DAEMONS=/usr/sbin:/usr/bin:/sbin:/bin

# Whether pid $1 runs (a zombie does not: pid 1 may be slow to reap, or not reap at all).
running() {
  local line
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  line=${line##*) }
  [ "${line%% *}" != Z ]
}
alive() { [ -f "$1" ] && running "$(cat "$1")"; }

# Every descendant of pid $1 (from /proc; no procps needed), deepest last.
descendants() {
  local root=$1 stat line rest pid ppid
  local -A parent=()
  for stat in /proc/[0-9]*/stat; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    pid=${stat#/proc/}; pid=${pid%/stat}
    if [ "$1" != Z ]; then parent[$pid]=$2; fi
  done
  local -a queue=("$root") out=()
  while [ ${#queue[@]} -gt 0 ]; do
    local p=${queue[0]}; queue=("${queue[@]:1}")
    for pid in "${!parent[@]}"; do
      ppid=${parent[$pid]}
      if [ "$ppid" = "$p" ]; then out+=("$pid"); queue+=("$pid"); fi
    done
  done
  [ ${#out[@]} -eq 0 ] || printf '%s\n' "${out[@]}"
}

# Starts "$@" in its own session with stdin /dev/null, its pid (the exec'd program's) in $pidfile.
spawn() {
  local pidfile=$1 log=$2; shift 2
  rm -f "$pidfile"
  env -i PATH="$PATH_DAEMONS" HOME=/root LANG=C SLURM_CONF="$conf" \
    setsid sh -c 'echo $$ >"$0" && exec "$@"' "$pidfile" "$@" >>"$log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$pidfile" ] && return 0; sleep 0.02; done
  die "could not start $*"
}

# Wait up to $2 tenths of a second for the process of pid file $1 to exit, then KILL it.
reap_pid() {
  local pidfile=$1 tenths=$2 pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  for _ in $(seq 1 "$tenths"); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  for _ in $(seq 1 50); do running "$pid" || break; sleep 0.1; done
  ! running "$pid" || die "pid $pid ($pidfile) does not exit"
  rm -f "$pidfile"
}

# A free TCP port pair below the ephemeral range (32768 up by default, where outgoing connections
# take their ports): no socket has base or base+1 as its local port (from /proc/net/tcp*).
free_ports() {
  local -A used=()
  local sl local_addr rest base
  while read -r sl local_addr rest; do
    used[$((16#${local_addr##*:}))]=1
  done < <(tail -q -n +2 /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % 12000))
    if [ -z "${used[$base]:-}" ] && [ -z "${used[$((base + 1))]:-}" ]; then echo "$base"; return 0; fi
  done
  die "no free port pair found"
}

write_conf() {
  local dir=$1 ctlhost port hw cpus
  ctlhost=$(hostname -s 2>/dev/null || uname -n); ctlhost=${ctlhost%%.*}
  port=$(free_ports)
  # "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  hw=$(slurmd -C | head -1) || die "slurmd -C failed"
  hw=${hw#NodeName=* }
  local overrides=""
  if [ -n "${TESTBED_SLURM_CPUS:-}" ]; then
    [[ "$TESTBED_SLURM_CPUS" =~ ^[1-9][0-9]*$ ]] || die "TESTBED_SLURM_CPUS must be a positive integer"
    cpus=$TESTBED_SLURM_CPUS
    hw="CPUs=$cpus $(grep -o 'RealMemory=[0-9]*' <<<"$hw")"
    overrides="SlurmdParameters=config_overrides"
  fi
  cat >"$dir/slurm.conf" <<EOF
# written by test/slurm/cluster.sh: a single-node test cluster, everything under $dir
ClusterName=testbed
SlurmctldHost=$ctlhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
# cred_expire also delays a requeued job's restart (cred_expire + 1 s; default 120).
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/state/slurmctld.pid
SlurmdPidFile=$dir/spool/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=1,bf_interval=1,default_queue_depth=1000
MaxArraySize=100001
MaxJobCount=200000
MinJobAge=3600
KillWait=2
# An epilog makes slurmd report MESSAGE_EPILOG_COMPLETE, and that triggers the scheduler at once;
# without one the next array tasks wait for the periodic scheduler/backfill pass (1 s apart):
# 24 tasks of `sleep 0` took 12 s on 2 CPUs instead of 0.7 s.
Epilog=/bin/true
MailProg=/bin/true
InactiveLimit=0
ReturnToService=2
$overrides
NodeName=$NODE NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$dir/plugstack.conf"
}

# The node's state as sinfo prints it (idle, mix, alloc, down*, ...), or nothing.
node_state() { SLURM_CONF=$conf timeout 5 sinfo -h -n "$NODE" -o %t 2>/dev/null | head -1 || true; }

down() {
  local dir=$1 tini pids
  # tini exits as soon as slurmd does, and what it still has (slurmstepd processes, job tasks)
  # would go to pid 1, out of reach: stop tini (SIGSTOP) first so it stays, then TERM slurmd, then
  # KILL whatever is still under tini, then tini.
  if alive "$dir/run/tini.pid"; then
    tini=$(cat "$dir/run/tini.pid")
    kill -STOP "$tini"
    for pid in $(descendants "$tini"); do
      if [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = slurmd ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    for _ in $(seq 1 50); do
      pids=$(descendants "$tini" | while read -r p; do if [ "$(cat "/proc/$p/comm" 2>/dev/null || true)" = slurmd ]; then echo "$p"; fi; done)
      [ -n "$pids" ] || break
      sleep 0.1
    done
    for _ in $(seq 1 50); do
      pids=$(descendants "$tini")
      [ -n "$pids" ] || break
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      sleep 0.1
    done
    [ -z "$(descendants "$tini")" ] || die "processes under tini ($tini) do not exit"
  fi
  reap_pid "$dir/run/tini.pid" 0
  # slurmctld has a child, slurmscriptd, that it stops itself; noted first, killed if it stays.
  local helpers=""
  if alive "$dir/run/slurmctld.pid"; then helpers=$(descendants "$(cat "$dir/run/slurmctld.pid")"); fi
  for d in slurmctld munged; do
    if alive "$dir/run/$d.pid"; then kill -TERM "$(cat "$dir/run/$d.pid")" 2>/dev/null || true; fi
  done
  reap_pid "$dir/run/slurmctld.pid" 100
  for pid in $helpers; do
    if running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = slurmscriptd ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  reap_pid "$dir/run/munged.pid" 50
}

cmd=${1:-}
case "$cmd" in
  up)
    dir=${2:?DIR}
    need munged; need mungekey; need munge; need slurmctld; need slurmd; need sinfo; need sbatch; need tini
    [ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root, slurmd runs jobs as their users)"
    dir=$(realpath -m "$dir")
    # munge's socket lives under DIR: keep it short (108 bytes for a unix socket path).
    [ ${#dir} -le 80 ] || die "DIR path too long for unix sockets: $dir"
    mkdir -p "$dir"
    for d in munged slurmctld tini; do
      if alive "$dir/run/$d.pid"; then die "a cluster runs under $dir already (cluster.sh down $dir first)"; fi
    done
    conf=$dir/slurm.conf
    # A fresh cluster every time: no job, node or reservation state from an earlier run.
    rm -rf "$dir/state" "$dir/spool" "$dir/run" "$dir/log" "$dir/munge" "$dir/jobcomp.txt" "$dir/env.sh"
    mkdir -p "$dir/state" "$dir/spool" "$dir/run" "$dir/log" "$dir/munge"
    # munged insists on a socket directory everyone may traverse and a key only its owner reads.
    chmod 755 "$dir"; chmod 711 "$dir/munge"
    mungekey -c -b 1024 -k "$dir/munge/munge.key" 2>>"$dir/log/munged.log"
    write_conf "$dir"

    spawn "$dir/run/munged.pid" "$dir/log/munged.log" munged -F --socket="$dir/munge/munge.socket" \
      --key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed"
    ok=""
    for _ in $(seq 1 100); do
      if [ -S "$dir/munge/munge.socket" ] && munge -S "$dir/munge/munge.socket" -n 2>/dev/null | unmunge -S "$dir/munge/munge.socket" >/dev/null 2>&1; then ok=1; break; fi
      alive "$dir/run/munged.pid" || break
      sleep 0.05
    done
    [ -n "$ok" ] || { down "$dir"; die "munged did not come up (it wants DIR's parents searchable by all, o+x); see $dir/log/munged.log"; }

    spawn "$dir/run/slurmctld.pid" "$dir/log/slurmctld.out" slurmctld -D -f "$conf"
    spawn "$dir/run/tini.pid" "$dir/log/slurmd.out" tini -s -- slurmd -D -f "$conf" -N "$NODE"
    state=""
    for _ in $(seq 1 300); do
      state=$(node_state)
      [ "$state" = idle ] && break
      if ! alive "$dir/run/slurmctld.pid" || ! alive "$dir/run/tini.pid"; then break; fi
      sleep 0.1
    done
    if [ "$state" != idle ]; then
      down "$dir"
      die "node $NODE not idle (state '${state}'); see $dir/log/slurmctld.log, $dir/log/slurmd.log, $dir/log/*.out"
    fi
    {
      echo "# written by test/slurm/cluster.sh: source it to use the cluster under $dir"
      echo "export SLURM_CONF=$conf"
      echo "export TESTBED_SLURM_DIR=$dir"
      echo "export TESTBED_SLURM_JOBCOMP=$dir/jobcomp.txt"
    } >"$dir/env.sh"
    echo "$dir/env.sh"
    ;;
  down)
    dir=${2:?DIR}
    [ -d "$dir" ] || exit 0
    dir=$(cd "$dir" && pwd)
    down "$dir"
    ;;
  status)
    dir=${2:?DIR}
    [ -d "$dir" ] || die "no cluster under $dir"
    dir=$(cd "$dir" && pwd); conf=$dir/slurm.conf
    up=1
    for d in munged slurmctld tini; do
      if alive "$dir/run/$d.pid"; then echo "$d: running, pid $(cat "$dir/run/$d.pid")"; else echo "$d: not running"; up=""; fi
    done
    if [ -n "$up" ]; then
      SLURM_CONF=$conf timeout 5 sinfo || true
      SLURM_CONF=$conf timeout 5 squeue || true
    else
      exit 1
    fi
    ;;
  *)
    die "usage: cluster.sh up DIR | down DIR | status DIR"
    ;;
esac
