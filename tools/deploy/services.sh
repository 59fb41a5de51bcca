# Functions of tools/deploy/run.sh (sourced by it, not run alone): one per
# service, in the order run.sh calls them. They use run.sh's $D, $venv,
# $python, $deploy_user and its start/wait_for helpers.
# shellcheck shell=bash

rand() { "$python" -c 'import secrets; print(secrets.token_hex(12))'; }

db_password=$(rand)
rabbit_password=$(rand)
admin_password=$(rand)
cinder_password=$(rand)
deploy_host=md-deploy
cluster_name=md-cluster
cluster_hosts="md-node-a md-node-b"
rootwrap_conf=$D/etc/rootwrap.conf
root_helper="sudo cinder-rootwrap $rootwrap_conf"
names=()         # service name of each entry of $pids

# named_start NAME COMMAND...: start(), remembering the service's name.
named_start() {
    names+=("$1")
    start "$@"
}

http_ok() {
    "$python" - "$1" <<'EOF'
import sys
import urllib.error
import urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError as exc:
    # Any HTTP answer (Cinder's / answers 300) means the server is up.
    sys.exit(0 if exc.code < 500 else 1)
EOF
}

# --- storage: a loop device and a VG for each LVM backend, image dirs ----

setup_storage() {
    local dev name accept
    mkdir -p "$D/lvm/lock" "$D/loop" "$D/images" "$D/shared"
    for name in md cinder dropin; do
        truncate -s 8G "$D/loop/$name.img"
        dev=$(losetup --find --show "$D/loop/$name.img")
        loops+=("$dev")
    done
    # No device-mapper on the test machines: metadata only (activation 0),
    # and LVM sees our two loop devices and nothing else of the host.
    accept=$(printf '"a|^%s$|", ' "${loops[@]}")
    cat >"$D/lvm/lvm.conf" <<EOF
devices {
    global_filter = [ $accept"r|.*|" ]
    filter = [ $accept"r|.*|" ]
    use_devicesfile = 0
    obtain_device_list_from_udev = 0
    external_device_info_source = "none"
    # Nor the host's /run/lvm/hints file, locked by every other LVM
    # command of the machine.
    hints = "none"
}
global {
    activation = 0
    use_lvmlockd = 0
    event_activation = 0
    # Our own command locks: the host's /run/lock/lvm global lock is
    # shared with every other LVM user of the machine (a long vgremove of
    # another VG held ours up for minutes).
    locking_dir = "$D/lvm/lock"
}
activation {
    udev_sync = 0
    udev_rules = 0
    monitoring = 0
}
backup {
    backup = 0
    archive = 0
}
EOF
    chmod 0755 "$D/lvm"
    chmod 0644 "$D/lvm/lvm.conf"
    vg_md=md-deploy-$(rand | cut -c1-8)
    vg_cinder=md-deploy-cinder-$(rand | cut -c1-8)
    vg_dropin=md-deploy-dropin-$(rand | cut -c1-8)
    lvm_() { LVM_SYSTEM_DIR=$D/lvm LVM_SUPPRESS_FD_WARNINGS=1 "$@" >/dev/null; }
    lvm_ pvcreate -y "${loops[0]}"
    lvm_ pvcreate -y "${loops[1]}"
    lvm_ pvcreate -y "${loops[2]}"
    lvm_ vgcreate -y "$vg_md" "${loops[0]}"
    vgs+=("$vg_md")
    lvm_ vgcreate -y "$vg_cinder" "${loops[1]}"
    vgs+=("$vg_cinder")
    lvm_ vgcreate -y "$vg_dropin" "${loops[2]}"
    vgs+=("$vg_dropin")
    # LVs to adopt: 1028 MiB is 2 GiB in Cinder (rounded up, never down).
    lvm_ lvcreate -an -Zn -y -L 1028m -n odd "$vg_md"
    lvm_ lvcreate -an -Zn -y -L 1g -n plain "$vg_md"
    lvm_ lvcreate -an -Zn -y -L 512m -n small "$vg_md"
    lvm_ lvcreate -an -Zn -y -L 1g -n existing "$vg_cinder"
    # Images to adopt, owned by the user cinder-volume runs as (the file
    # driver renames them itself; qemu-img runs through rootwrap).
    qemu-img create -q -f raw "$D/images/raw5m.img" 5M
    qemu-img create -q -f qcow2 "$D/images/odd.qcow2" 1025M
    qemu-img create -q -f qcow2 "$D/images/one.qcow2" 1G
    qemu-img create -q -f qcow2 "$D/images/two.qcow2" 2G
    qemu-img create -q -f qcow2 "$D/shared/contested.qcow2" 1G
    chown -R "$deploy_user:" "$D/images" "$D/shared"
}

# --- NFS without an NFS client ----------------------------------------------

# This kernel has no NFS client. The share's export is a local directory,
# bind-mounted where Cinder's NFS driver mounts the share
# (realpath(nfs_mount_point_base)/md5(share), os-brick's mount point):
# os-brick finds it in /proc/mounts and never runs mount. The driver's
# start-up check for an NFS client runs mount.nfs with no arguments:
# $D/bin/mount.nfs is a stub that answers as mount.nfs does without
# arguments, and refuses any real mount. Everything above the mount,
# Cinder's NFS driver and the library, runs unmodified.
nfs_share=127.0.0.1:/md-deploy-nfs

setup_nfs() {
    local mnt
    mkdir -p "$D/nfs/export" "$D/nfs/mnt" "$D/bin"
    chown "$deploy_user:" "$D/nfs/export"
    mnt=$(realpath "$D/nfs/mnt")/$(printf %s "$nfs_share" | md5sum | cut -d' ' -f1)
    mkdir -p "$mnt"
    mount --bind "$D/nfs/export" "$mnt"
    mounts+=("$mnt")
    echo "$nfs_share" >"$D/etc/nfs_shares"
    chmod 0644 "$D/etc/nfs_shares"
    cat >"$D/bin/mount.nfs" <<'EOF'
#!/bin/sh
# tools/deploy: no NFS client on this machine (see services.sh setup_nfs).
if [ $# -eq 0 ]; then
    echo "usage: mount.nfs remotetarget dir [-rvVwfnsih] [-o nfsoptions]" >&2
    exit 1
fi
echo "mount.nfs: stub of tools/deploy, no NFS client here" >&2
exit 32
EOF
    chmod 0755 "$D/bin" "$D/bin/mount.nfs"
}

# --- Ceph: mon, memstore OSD, mgr on loopback (tools/deploy/ceph_cluster.py)

start_ceph() {
    local lib=/usr/lib/python3/dist-packages
    mkdir -p "$D/ceph/python" "$D/ceph/tmp"
    chmod 0755 "$D/ceph" "$D/ceph/python"
    # Debian's python3-rados and python3-rbd, for Debian's python 3 (the
    # deployment's): these two modules alone, not the system's packages.
    ln -s "$lib"/rados.cpython-*.so "$lib"/rbd.cpython-*.so "$D/ceph/python/"
    named_start ceph env TMPDIR="$D/ceph/tmp" \
        PYTHONPATH="$top:$D/ceph/python" "$python" \
        "$top/tools/deploy/ceph_cluster.py" "$D/ceph" "$deploy_user"
    wait_for ceph 120 test -e "$D/ceph/ready"
}

# --- MariaDB: a private server, unix socket only ------------------------

db_url() {
    echo "mysql+pymysql://md:$db_password@localhost/$1?unix_socket=$D/mysql/mysqld.sock&charset=utf8"
}

start_mariadb() {
    mkdir -p "$D/mysql/data"
    chmod 0755 "$D/mysql"
    mariadb-install-db --no-defaults --datadir="$D/mysql/data" --user=root \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$D/log/mariadb-install.log" 2>&1
    named_start mariadb /usr/sbin/mariadbd --no-defaults \
        --datadir="$D/mysql/data" --socket="$D/mysql/mysqld.sock" \
        --pid-file="$D/mysql/mysqld.pid" --skip-networking --user=root \
        --skip-name-resolve --max-connections=500 \
        --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=0 \
        --innodb-doublewrite=0 --skip-log-bin
    wait_for mariadb 60 mariadb-admin --no-defaults \
        --socket="$D/mysql/mysqld.sock" -u root ping
    mariadb --no-defaults --socket="$D/mysql/mysqld.sock" -u root <<EOF
CREATE DATABASE keystone;
CREATE DATABASE cinder;
CREATE USER 'md'@'localhost' IDENTIFIED BY '$db_password';
GRANT ALL PRIVILEGES ON keystone.* TO 'md'@'localhost';
GRANT ALL PRIVILEGES ON cinder.* TO 'md'@'localhost';
EOF
}

# --- RabbitMQ: a private node with its own epmd -------------------------

start_rabbitmq() {
    local r=$D/rabbitmq
    rabbit_port=$(free_port)
    mkdir -p "$r/home" "$r/mnesia" "$r/log"
    cat >"$r/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$rabbit_port
default_user = md
default_pass = $rabbit_password
EOF
    echo '[].' >"$r/enabled_plugins"
    : >"$r/rabbitmq-env.conf"
    epmd_port=$(free_port)
    rabbit_env=(env HOME="$r/home" RABBITMQ_NODENAME=md-deploy@localhost
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$rabbit_port"
        RABBITMQ_DIST_PORT="$(free_port)"
        ERL_EPMD_PORT="$epmd_port" ERL_EPMD_ADDRESS=127.0.0.1
        RABBITMQ_CONF_ENV_FILE="$r/rabbitmq-env.conf"
        RABBITMQ_CONFIG_FILE="$r/rabbitmq.conf"
        RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins"
        RABBITMQ_MNESIA_BASE="$r/mnesia" RABBITMQ_LOG_BASE="$r/log"
        RABBITMQ_PID_FILE="$r/rabbitmq.pid")
    # Our own epmd, in the foreground, so that it is ours to stop (the
    # one Erlang would start daemonises and outlives the node).
    named_start epmd "${rabbit_env[@]}" epmd -port "$epmd_port" \
        -address 127.0.0.1
    named_start rabbitmq "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server
    wait_for rabbitmq 120 "${rabbit_env[@]}" \
        /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup
}

# --- Redis: tooz's coordination backend for the cluster -----------------

start_redis() {
    redis_port=$(free_port)
    mkdir -p "$D/redis"
    named_start redis redis-server --port "$redis_port" --bind 127.0.0.1 \
        --save "" --appendonly no --dir "$D/redis" --protected-mode yes
    wait_for redis 30 redis-cli -h 127.0.0.1 -p "$redis_port" ping
}

# --- A network endpoint that answers 404 (tools/deploy/not_found.py) -----

start_network_stub() {
    network_port=$(free_port)
    named_start network-404 "$python" "$top/tools/deploy/not_found.py" \
        "$network_port"
    wait_for network-404 30 http_ok "http://127.0.0.1:$network_port/"
}

# --- Keystone, under gunicorn --------------------------------------------

start_keystone() {
    local k=$D/keystone manage
    keystone_port=$(free_port)
    cinder_port=$(free_port)
    keystone_url=http://127.0.0.1:$keystone_port
    mkdir -p "$k/fernet-keys" "$k/credential-keys"
    cat >"$D/etc/keystone.conf" <<EOF
[database]
connection = $(db_url keystone)
[token]
provider = fernet
[fernet_tokens]
key_repository = $k/fernet-keys
[fernet_receipts]
key_repository = $k/fernet-keys
[credential]
key_repository = $k/credential-keys
EOF
    manage=("$venv/bin/keystone-manage" --config-file "$D/etc/keystone.conf")
    "${manage[@]}" db_sync >"$D/log/keystone-manage.log" 2>&1
    "${manage[@]}" fernet_setup --keystone-user root --keystone-group root \
        >>"$D/log/keystone-manage.log" 2>&1
    "${manage[@]}" credential_setup --keystone-user root \
        --keystone-group root >>"$D/log/keystone-manage.log" 2>&1
    "${manage[@]}" bootstrap --bootstrap-password "$admin_password" \
        --bootstrap-admin-url "$keystone_url/v3" \
        --bootstrap-internal-url "$keystone_url/v3" \
        --bootstrap-public-url "$keystone_url/v3" \
        --bootstrap-region-id RegionOne >>"$D/log/keystone-manage.log" 2>&1
    named_start keystone env OS_KEYSTONE_CONFIG_FILES="$D/etc/keystone.conf" \
        "$venv/bin/gunicorn" --bind "127.0.0.1:$keystone_port" --workers 2 \
        --chdir "$top/tools/deploy" --pid "$k/gunicorn.pid" \
        keystone_wsgi:application
    wait_for keystone 60 http_ok "$keystone_url/v3"
    export OS_AUTH_URL=$keystone_url/v3 OS_USERNAME=admin
    export OS_PASSWORD=$admin_password OS_PROJECT_NAME=admin
    export OS_USER_DOMAIN_ID=default OS_PROJECT_DOMAIN_ID=default
    export OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne
    "$python" "$top/tools/deploy/cloud_setup.py" keystone \
        "http://127.0.0.1:$cinder_port" "$cinder_password" \
        "http://127.0.0.1:$network_port"
}

# --- Cinder ---------------------------------------------------------------

# cinder_conf FILE HOST CLUSTER BACKENDS: one service's configuration.
cinder_conf() {
    local file=$1 host=$2 cluster=$3 backends=$4
    cat >"$file" <<EOF
[DEFAULT]
host = $host
${cluster:+cluster = $cluster}
enabled_backends = $backends
transport_url = rabbit://md:$rabbit_password@127.0.0.1:$rabbit_port/
auth_strategy = keystone
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = $cinder_port
osapi_volume_workers = 1
api_paste_config = $venv/etc/cinder/api-paste.ini
rootwrap_config = $rootwrap_conf
state_path = $D/cinder/state
my_ip = 127.0.0.1
report_interval = 2
service_down_time = 30
periodic_interval = 10
backend_stats_polling_interval = 10
graceful_shutdown_timeout = 5

[database]
connection = $(db_url cinder)

[oslo_concurrency]
lock_path = $D/cinder/locks

[cinder_sys_admin]
# Cinder's privsep lvrename (manage_existing of its LVM driver) runs no
# "env LVM_SYSTEM_DIR=..." prefix, unlike its other LVM commands, so it
# ignores lvm_conf_file, reads the host's lvm.conf (activation on) and
# fails without device-mapper. This privsep daemon starts with our
# LVM_SYSTEM_DIR in its environment instead (md-privsep-helper, below).
helper_command = $root_helper $D/etc/md-privsep-helper --config-file $file

[coordination]
backend_url = redis://127.0.0.1:$redis_port?timeout=30

[keystone_authtoken]
www_authenticate_uri = $keystone_url
auth_url = $keystone_url
auth_type = password
username = cinder
password = $cinder_password
project_name = service
user_domain_id = default
project_domain_id = default

[file]
volume_driver = manageable_driver.cinder.file.FileManageableDriver
volume_backend_name = file
# Manage-only: a zone of its own keeps untyped creates off it.
backend_availability_zone = manage-only
file_volume_dirs = $D/images
file_root_helper = $root_helper
manageable_lock_path = $D/cinder/md-locks-$host

[lvm]
volume_driver = manageable_driver.cinder.lvm.LVMManageableDriver
volume_backend_name = lvm
backend_availability_zone = manage-only
volume_group = $vg_md
lvm_conf_file = $D/lvm/lvm.conf
lvm_root_helper = $root_helper
manageable_lock_path = $D/cinder/md-locks-$host

[cinder-lvm]
volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver
volume_backend_name = cinder-lvm
volume_group = $vg_cinder
lvm_conf_file = $D/lvm/lvm.conf
target_helper = fake
# Thick LVs: a thin pool needs device-mapper, which this machine lacks.
lvm_type = default
# Deleting zeroes nothing (no device node without device-mapper).
volume_clear = none

# The drop-in drivers: Cinder's own LVM, NFS and RBD drivers with the
# library's manage family (Tempest's manage tests run on each). A zone of
# their own, so that an untyped create still lands on cinder-lvm only.
[md-lvm]
volume_driver = manageable_driver.cinder.lvm.LVMVolumeDriver
volume_backend_name = md-lvm
backend_availability_zone = drop-in
volume_group = $vg_dropin
lvm_conf_file = $D/lvm/lvm.conf
target_helper = fake
lvm_type = default
volume_clear = none
manageable_lock_path = $D/cinder/md-locks-$host

[md-nfs]
volume_driver = manageable_driver.cinder.nfs.NfsDriver
volume_backend_name = md-nfs
backend_availability_zone = drop-in
nfs_shares_config = $D/etc/nfs_shares
nfs_mount_point_base = $D/nfs/mnt
nfs_snapshot_support = true
# "auto" turns both on for a fresh database, and Cinder then refuses
# snapshots (files as root through rootwrap, here, as with sudo setups).
nas_secure_file_operations = false
nas_secure_file_permissions = false
manageable_lock_path = $D/cinder/md-locks-$host

[md-rbd]
volume_driver = manageable_driver.cinder.rbd.RBDDriver
volume_backend_name = md-rbd
backend_availability_zone = drop-in
rbd_pool = volumes
rbd_user = cinder
rbd_ceph_conf = $D/ceph/ceph.conf
rados_connect_timeout = 30
manageable_lock_path = $D/cinder/md-locks-$host

[shared]
volume_driver = manageable_driver.cinder.file.FileManageableDriver
volume_backend_name = shared
backend_availability_zone = manage-only
file_volume_dirs = $D/shared
file_root_helper = $root_helper
coordination_backend_url = redis://127.0.0.1:$redis_port?timeout=30
manageable_lock_path = $D/cinder/md-locks-$host
EOF
    chgrp "$deploy_user" "$file"
    chmod 0640 "$file"
}

configure_cinder() {
    mkdir -p "$D/cinder/state" "$D/cinder/locks" "$D/etc/rootwrap.d"
    for host in "$deploy_host" $cluster_hosts; do
        mkdir -p "$D/cinder/md-locks-$host"
    done
    chown -R "$deploy_user:" "$D/cinder"
    cinder_conf "$D/etc/cinder.conf" "$deploy_host" "" \
        file,lvm,cinder-lvm,md-lvm,md-nfs,md-rbd
    for host in $cluster_hosts; do
        cinder_conf "$D/etc/cinder-$host.conf" "$host" "$cluster_name" shared
    done
    # Rootwrap: Cinder's filters, the library's (from the installed
    # package's data files), and privsep-helper with our config files
    # (Cinder's own filter allows /etc/... only).
    cp "$venv/etc/cinder/rootwrap.d/volume.filters" "$D/etc/rootwrap.d/"
    cp "$venv/etc/manageable-driver/rootwrap.d/manageable-driver.filters" \
        "$D/etc/rootwrap.d/"
    cat >"$D/etc/rootwrap.d/md-deploy-privsep.filters" <<EOF
[Filters]
md-privsep: RegExpFilter, privsep-helper, root, privsep-helper, --config-file, ${D//./\\.}/etc/cinder[a-z-]*\.conf, --privsep_context, (os_brick\.privileged\.default|cinder\.privsep\.sys_admin_pctxt), --privsep_sock_path, /tmp/.*
md-privsep-lvm: RegExpFilter, $D/etc/md-privsep-helper, root, ${D//./\\.}/etc/md-privsep-helper, --config-file, ${D//./\\.}/etc/cinder[a-z-]*\.conf, --privsep_context, cinder\.privsep\.sys_admin_pctxt, --privsep_sock_path, /tmp/.*
EOF
    # Not "env LVM_SYSTEM_DIR=... privsep-helper" through rootwrap: the
    # first EnvFilter of volume.filters tried removes "env" from the
    # command it is matching (oslo.rootwrap 7.10.0), so no RegExpFilter
    # after it can match an env command.
    cat >"$D/etc/md-privsep-helper" <<EOF
#!/bin/sh
LVM_SYSTEM_DIR=$D/lvm exec $venv/bin/privsep-helper "\$@"
EOF
    chmod 0755 "$D/etc/md-privsep-helper"
    # The NFS driver's client check (no arguments: setup_nfs).
    cat >"$D/etc/rootwrap.d/md-deploy-nfs.filters" <<EOF
[Filters]
md-mount-nfs: RegExpFilter, mount.nfs, root, mount.nfs
EOF
    cat >"$rootwrap_conf" <<EOF
[DEFAULT]
filters_path = $D/etc/rootwrap.d
exec_dirs = $venv/bin,/sbin,/usr/sbin,/bin,/usr/bin,/usr/local/sbin,/usr/local/bin,$D/bin
use_syslog = False
EOF
    chmod 0644 "$rootwrap_conf" "$D"/etc/rootwrap.d/*
    # sudo for md-cinder: cinder-rootwrap with our conf, nothing else.
    # secure_path lets "sudo cinder-rootwrap" find the environment's.
    sudoers=/etc/sudoers.d/md-deploy-$(basename "$D" | tr -c 'a-zA-Z0-9_\n' _)
    cat >"$sudoers" <<EOF
Defaults:$deploy_user secure_path="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
$deploy_user ALL = (root) NOPASSWD: $venv/bin/cinder-rootwrap $rootwrap_conf *
EOF
    chmod 0440 "$sudoers"
    visudo -c -q -f "$sudoers"
    "$venv/bin/cinder-manage" --config-file "$D/etc/cinder.conf" db sync \
        >"$D/log/cinder-manage.log" 2>&1
}

start_cinder_api() {
    named_start cinder-api "$venv/bin/cinder-api" \
        --config-file "$D/etc/cinder.conf"
    wait_for cinder-api 60 http_ok "http://127.0.0.1:$cinder_port/"
}

start_cinder_scheduler() {
    named_start cinder-scheduler "$venv/bin/cinder-scheduler" \
        --config-file "$D/etc/cinder.conf"
    wait_for cinder-scheduler 60 grep -q "Starting cinder-scheduler node" \
        "$D/log/cinder-scheduler.log"
}

# The prefix that runs a command as md-cinder with a clean environment;
# env and setpriv exec, so the pid start() keeps is the service's own.
# PYTHONPATH: rados and rbd for the RBD backend (start_ceph).
as_deploy_user=(env -i PATH="$venv/bin:/usr/sbin:/usr/bin:/sbin:/bin:$D/bin"
    HOME="$D/cinder" LANG=C.UTF-8 PYTHONPATH="$D/ceph/python"
    setpriv --reuid="$deploy_user" --regid="$deploy_user" --init-groups --)

start_cinder_volumes() {
    named_start cinder-volume "${as_deploy_user[@]}" \
        "$venv/bin/cinder-volume" --config-file "$D/etc/cinder.conf"
    for host in $cluster_hosts; do
        named_start "cinder-volume-$host" "${as_deploy_user[@]}" \
            "$venv/bin/cinder-volume" --config-file "$D/etc/cinder-$host.conf"
    done
}

create_volume_types() {
    "$python" "$top/tools/deploy/cloud_setup.py" types \
        file lvm cinder-lvm shared md-lvm md-nfs md-rbd
}

# Every backend's stats have reached the scheduler: only then does it
# place a manage request (before, one can be dropped).
wait_backends_ready() {
    "$python" "$top/tools/deploy/cloud_setup.py" wait-pools 120 \
        "$deploy_host@file#file" "$deploy_host@lvm#lvm" \
        "$deploy_host@cinder-lvm#cinder-lvm" "$cluster_name@shared#shared" \
        "$deploy_host@md-lvm#md-lvm" "$deploy_host@md-nfs#" \
        "$deploy_host@md-rbd#"
}

# --- Tempest: a workspace and a HOME of its own, a conf per backend ------

# The backends Tempest's manage tests run on (tools/deploy/tempest_conf.py).
tempest_backends="cinder-lvm md-lvm md-nfs md-rbd"

setup_tempest() {
    local t=$D/tempest
    mkdir -p "$t/home"
    # Tempest writes below $HOME (~/.tempest, its workspace registry).
    env HOME="$t/home" "$venv/bin/tempest" init \
        --workspace-path "$t/workspace.yaml" "$t/workspace" \
        >"$D/log/tempest-init.log" 2>&1
    # shellcheck disable=SC2086
    "$python" "$top/tools/deploy/tempest_conf.py" "$t/workspace" \
        "$D/log" $tempest_backends
}

# Resident memory of each service with all its descendants (workers,
# privsep daemons), in MiB.
report_memory() {
    local i
    for i in "${!pids[@]}"; do
        "$python" - "${names[i]}" "${pids[i]}" <<'EOF'
import os
import sys

name, root = sys.argv[1], int(sys.argv[2])
children = {}
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        with open("/proc/%s/stat" % entry) as f:
            ppid = int(f.read().rpartition(")")[2].split()[1])
    except OSError:
        continue
    children.setdefault(ppid, []).append(int(entry))
total, todo, count = 0, [root], 0
while todo:
    pid = todo.pop()
    todo.extend(children.get(pid, ()))
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    count += 1
    except OSError:
        pass
print("%-28s %6d MiB RSS (%d processes)" % ("memory " + name, total // 1024,
                                             count))
EOF
    done
}

write_env() {
    cat >"$D/deploy.env" <<EOF
OS_AUTH_URL=$keystone_url/v3
OS_USERNAME=admin
OS_PASSWORD=$admin_password
OS_PROJECT_NAME=admin
OS_USER_DOMAIN_ID=default
OS_PROJECT_DOMAIN_ID=default
OS_IDENTITY_API_VERSION=3
OS_REGION_NAME=RegionOne
OS_VOLUME_API_VERSION=3.66
MD_DEPLOY_DIR=$D
MD_DEPLOY_HOST=$deploy_host
MD_DEPLOY_CLUSTER=$cluster_name
MD_DEPLOY_CLUSTER_HOSTS="$cluster_hosts"
MD_DEPLOY_IMAGES=$D/images
MD_DEPLOY_SHARED=$D/shared
MD_DEPLOY_VG=$vg_md
MD_DEPLOY_CINDER_VG=$vg_cinder
MD_DEPLOY_DROPIN_VG=$vg_dropin
MD_DEPLOY_NFS_SHARE=$nfs_share
MD_DEPLOY_NFS_EXPORT=$D/nfs/export
MD_DEPLOY_CEPH_CONF=$D/ceph/ceph.conf
PYTHONPATH=$D/ceph/python
MD_DEPLOY_LVM_SYSTEM_DIR=$D/lvm
MD_DEPLOY_LOGS=$D/log
MD_DEPLOY_USER=$deploy_user
MD_DEPLOY_TEMPEST=$D/tempest/workspace
MD_DEPLOY_TEMPEST_HOME=$D/tempest/home
MD_DEPLOY_TEMPEST_BACKENDS="$tempest_backends"
EOF
    chmod 0600 "$D/deploy.env"
}
