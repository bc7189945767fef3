/* test-proxy-rewrite.c - unit tests for proxy/rewrite: create_inspect against
 * a table of request bodies (each denied field on its own, malformed types,
 * Go's case-insensitive keys, GPU request shapes, the names collected, the
 * container type); create_rewrite against exact expected bodies (limits kept,
 * capped and filled in, CpuQuota conversion, swap rules, Env and GPU in both
 * attach modes, labels, User, cgroup parent); the security review's cases
 * (no-new-privileges with a forced User, GroupAdd, VolumesFrom and inherited
 * binds, HostConfig fields at the top level, log options, SELinux labels);
 * exec, update, volume and network
 * bodies; and bind paths resolved in a temporary tree with symlinks (out to
 * /etc, ".." tricks, dangling links, loops, missing tails), allowed-root
 * boundaries and root expansion.
 *
 * Bodies are written with single quotes for readability; jparse() turns them
 * into double quotes before parsing. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/rewrite.h"
#include "util/macro.h"

#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

static json_t *jparse(const char *text)
{
        char *s = strdup(text);
        json_error_t err;
        json_t *j;

        assert_non_null(s);
        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        j = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (!j)
                fail_msg("bad test JSON: %s: %s", err.text, s);
        free(s);
        return j;
}

static void join(char *buf, size_t size, char *const *list, size_t n)
{
        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "|" : "", list[i]);
}

static void assert_reason_shape(const char *reason)
{
        assert_non_null(strstr(reason, "ds01: ") == reason ? reason : NULL);
        assert_null(strchr(reason, '\n'));
        assert_true(strlen(reason) > 8);
}

/* ---- create_inspect ---- */

struct inspect_case {
        const char *body;
        const char *name; /* ?name= */
        int r;
        const char *reason; /* a part of the reason (r < 0) */
        /* r == 0: what was collected ("" / NULL: nothing; '|' between names) */
        const char *type, *iface; /* NULL: "docker" */
        enum create_gpu_kind gpu;
        int gpu_count;
        const char *devices;
        bool nvidia_runtime;
        const char *binds, *volumes, *containers, *networks;
};

static const struct inspect_case inspect_cases[] = {
    /* accepted, nothing special */
    {.body = "{}"},
    {.body = "{'Image':'ubuntu','HostConfig':null,'NetworkingConfig':null,'Labels':null,"
             "'Env':null,'User':null}"},
    {.body = "{'HostConfig':{'Privileged':false,'CapAdd':[],'CapDrop':['ALL'],'Devices':null,"
             "'DeviceCgroupRules':[],'Sysctls':{},'CgroupParent':'','Runtime':'runc',"
             "'OomScoreAdj':500,'MaskedPaths':null,'ReadonlyPaths':null,'PidMode':'',"
             "'IpcMode':'private','UTSMode':'','UsernsMode':'','CgroupnsMode':'private',"
             "'Annotations':{},'VolumeDriver':'local','Tmpfs':{'/run':'size=64m'},"
             "'Ulimits':[{'Name':'nofile','Soft':1024,'Hard':4096}]}}"},
    {.body = "{'HostConfig':{'Runtime':'','NetworkMode':'bridge','LogConfig':{'Type':"
             "'json-file','Config':{'max-size':'10m'}}}}"},
    {.body = "{'HostConfig':{'LogConfig':{'Type':'','Config':null}}}"},
    {.body = "{'HostConfig':{'NetworkMode':'default'}}"},
    {.body = "{'HostConfig':{'NetworkMode':'none'}}"},
    {.body = "{'HostConfig':{'SecurityOpt':['no-new-privileges','no-new-privileges:true',"
             "'no-new-privileges=false','apparmor=docker-default','seccomp=builtin']}}"},
    {.body = "{'HostConfig':{'PortBindings':{'8080/tcp':[{'HostPort':'8080'}],"
             "'80/tcp':[{'HostIp':'','HostPort':''}],'81/tcp':[{'HostIp':'127.0.0.1',"
             "'HostPort':'0'}],'82/tcp':[{'HostPort':'1024-1030'}],'9000/tcp':null}}}"},
    /* binds, volumes */
    {.body = "{'HostConfig':{'Binds':['/home/alice/data:/data','myvol:/vol:ro','/anon',"
             "'/home/alice/data:/data2:rw','/srv/x:/x:ro,z']}}",
     .binds = "/home/alice/data|/srv/x",
     .volumes = "myvol"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'bind','Source':'/home/alice/m','Target':'/m'},"
             "{'Type':'volume','Source':'vol2','Target':'/v','VolumeOptions':{'NoCopy':true,"
             "'DriverConfig':{'Name':'local','Options':{'size':'1g'}}}},"
             "{'Type':'volume','Target':'/anon'},{'Type':'tmpfs','Target':'/t'},"
             "{'Type':'bind','Source':'/home/alice/m','Target':'/m2','ReadOnly':true}]}}",
     .binds = "/home/alice/m",
     .volumes = "vol2"},
    {.body = "{'Volumes':{'/data':{}},'HostConfig':{'Binds':['v1:/a'],"
             "'Mounts':[{'Type':'volume','Source':'v1','Target':'/b'}]}}",
     .volumes = "v1"},
    /* other containers and networks */
    {.body = "{'HostConfig':{'NetworkMode':'container:c6','VolumesFrom':['c1:ro','c2'],"
             "'Links':['c3:alias'],'PidMode':'container:c4','IpcMode':'container:c5',"
             "'Cgroup':'container:c7'}}",
     .containers = "c6|c1|c2|c3|c4|c5|c7"},
    {.body = "{'HostConfig':{'NetworkMode':'mynet'},'NetworkingConfig':{'EndpointsConfig':"
             "{'mynet':{'Aliases':['a']},'other':{'Links':['c8:x']},'bridge':{},'none':null}}}",
     .networks = "mynet|other",
     .containers = "c8"},
    /* labels and type */
    {.body = "{'Labels':{'ds01.interface':'orchestration','app':'x'}}",
     .type = "orchestration",
     .iface = "orchestration"},
    {.body = "{'Labels':{'ds01.interface':'atomic'}}", .type = "atomic", .iface = "atomic"},
    {.body = "{'Labels':{'devcontainer.local_folder':'/home/alice/p'}}", .type = "devcontainer"},
    {.body = "{}", .name = "vsc-proj-123", .type = "devcontainer"},
    {.body = "{}", .name = "/vsc-proj", .type = "devcontainer"},
    {.body = "{}", .name = "my-vsc-proj"},
    {.body = "{'Labels':{'com.docker.compose.project':'p'}}", .type = "compose"},
    {.body = "{'Labels':{'com.docker.compose.project':'p','devcontainer.config_file':'x'}}",
     .type = "devcontainer"},
    {.body = "{'Labels':{'ds01.interface':'orchestration','devcontainer.x':'y'}}",
     .name = "vsc-a",
     .type = "orchestration",
     .iface = "orchestration"},
    {.body = "{'Labels':{'devcontainerx':'y','com.docker.composex':'z'}}"},
    /* GPU requests */
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':-1,"
             "'Capabilities':[['gpu']]}]}}",
     .gpu = CREATE_GPU_ALL,
     .gpu_count = -1},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':2}]}}",
     .gpu = CREATE_GPU_COUNT,
     .gpu_count = 2},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'','Count':1,'DeviceIDs':null,"
             "'Capabilities':[['gpu']],'Options':{}}]}}",
     .gpu = CREATE_GPU_COUNT,
     .gpu_count = 1},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Count':1,'Capabilities':[['compute',"
             "'utility']]}]}}",
     .gpu = CREATE_GPU_COUNT,
     .gpu_count = 1},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','DeviceIDs':['0','1'],"
             "'Capabilities':[['gpu']]}]}}",
     .gpu = CREATE_GPU_DEVICES,
     .gpu_count = 2,
     .devices = "0|1"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','DeviceIDs':['0,1',"
             "'GPU-8f6e2a1c','MIG-5c2d',' 1:2 ']}]}}",
     .gpu = CREATE_GPU_DEVICES,
     .gpu_count = 5,
     .devices = "0|1|GPU-8f6e2a1c|MIG-5c2d|1:2"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','DeviceIDs':['0']},"
             "{'Capabilities':[['gpu']],'DeviceIDs':['1','0']}]}}",
     .gpu = CREATE_GPU_DEVICES,
     .gpu_count = 2,
     .devices = "0|1"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':-1},"
             "{'Driver':'nvidia','Count':-1}]}}",
     .gpu = CREATE_GPU_ALL,
     .gpu_count = -1},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':0}]}}",
     .gpu = CREATE_GPU_NONE},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':0},"
             "{'Driver':'nvidia','Count':3}]}}",
     .gpu = CREATE_GPU_COUNT,
     .gpu_count = 3},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','DeviceIDs':['all']}]}}",
     .gpu = CREATE_GPU_ALL,
     .gpu_count = -1},
    {.body = "{'HostConfig':{'DeviceRequests':[]}}", .gpu = CREATE_GPU_NONE},
    {.body = "{'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_ALL,
     .gpu_count = -1,
     .nvidia_runtime = true},
    {.body = "{'Env':['A=1','NVIDIA_VISIBLE_DEVICES=all'],'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_ALL,
     .gpu_count = -1,
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=none'],'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_NONE,
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=void'],'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_NONE,
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES='],'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_NONE,
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=0,GPU-aa'],'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_DEVICES,
     .gpu_count = 2,
     .devices = "0|GPU-aa",
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=0','B=2','NVIDIA_VISIBLE_DEVICES=3'],"
             "'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_DEVICES,
     .gpu_count = 1,
     .devices = "3",
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=none','NVIDIA_VISIBLE_DEVICES'],"
             "'HostConfig':{'Runtime':'nvidia'}}",
     .gpu = CREATE_GPU_ALL,
     .gpu_count = -1,
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=0,1'],'HostConfig':{'Runtime':'nvidia',"
             "'DeviceRequests':[{'Driver':'nvidia','Count':1}]}}",
     .gpu = CREATE_GPU_COUNT,
     .gpu_count = 1,
     .nvidia_runtime = true},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=all']}", .gpu = CREATE_GPU_NONE},

    /* denied: one field at a time */
    {.body = "{'HostConfig':{'Privileged':true}}",
     .r = -EPERM,
     .reason = "ds01: --privileged is not allowed; ask an admin if your work needs it"},
    {.body = "{'HostConfig':{'CapAdd':['SYS_ADMIN']}}",
     .r = -EPERM,
     .reason = "--cap-add SYS_ADMIN"},
    {.body = "{'HostConfig':{'Capabilities':['CAP_SYS_ADMIN']}}",
     .r = -EPERM,
     .reason = "Capabilities"},
    {.body = "{'HostConfig':{'Devices':[{'PathOnHost':'/dev/nvidia0','PathInContainer':"
             "'/dev/nvidia0','CgroupPermissions':'rwm'}]}}",
     .r = -EPERM,
     .reason = "--device is not allowed"},
    {.body = "{'HostConfig':{'DeviceCgroupRules':['c 195:* rwm']}}",
     .r = -EPERM,
     .reason = "--device-cgroup-rule"},
    {.body = "{'HostConfig':{'PidMode':'host'}}", .r = -EPERM, .reason = "--pid=host"},
    {.body = "{'HostConfig':{'IpcMode':'host'}}", .r = -EPERM, .reason = "--ipc=host"},
    {.body = "{'HostConfig':{'UTSMode':'host'}}", .r = -EPERM, .reason = "--uts=host"},
    {.body = "{'HostConfig':{'UsernsMode':'host'}}", .r = -EPERM, .reason = "--userns=host"},
    {.body = "{'HostConfig':{'CgroupnsMode':'host'}}", .r = -EPERM, .reason = "--cgroupns=host"},
    {.body = "{'HostConfig':{'NetworkMode':'host'}}",
     .r = -EPERM,
     .reason = "ds01: the 'host' network is not allowed; use the default bridge or your own "
               "network"},
    {.body = "{'NetworkingConfig':{'EndpointsConfig':{'host':{}}}}",
     .r = -EPERM,
     .reason = "'host' network"},
    {.body = "{'HostConfig':{'SecurityOpt':['unconfined']}}",
     .r = -EPERM,
     .reason = "security option 'unconfined'"},
    {.body = "{'HostConfig':{'SecurityOpt':['apparmor=unconfined']}}",
     .r = -EPERM,
     .reason = "apparmor=unconfined"},
    {.body = "{'HostConfig':{'SecurityOpt':['apparmor:unconfined']}}",
     .r = -EPERM,
     .reason = "apparmor=unconfined"},
    {.body = "{'HostConfig':{'SecurityOpt':['no-new-privileges','seccomp=unconfined']}}",
     .r = -EPERM,
     .reason = "seccomp=unconfined"},
    {.body = "{'HostConfig':{'SecurityOpt':['seccomp:unconfined']}}",
     .r = -EPERM,
     .reason = "seccomp=unconfined"},
    {.body = "{'HostConfig':{'SecurityOpt':['systempaths=unconfined']}}",
     .r = -EPERM,
     .reason = "systempaths=unconfined"},
    {.body = "{'HostConfig':{'SecurityOpt':['label=disable']}}",
     .r = -EPERM,
     .reason = "label=disable"},
    {.body = "{'HostConfig':{'SecurityOpt':['label:disable']}}",
     .r = -EPERM,
     .reason = "label=disable"},
    {.body = "{'HostConfig':{'SecurityOpt':['seccomp={\\'defaultAction\\':\\'SCMP_ACT_ALLOW\\'}"
             "']}}",
     .r = -EPERM,
     .reason = "custom seccomp profiles"},
    {.body = "{'HostConfig':{'SecurityOpt':['apparmor=my-profile']}}",
     .r = -EPERM,
     .reason = "apparmor=my-profile"},
    {.body = "{'HostConfig':{'SecurityOpt':['writable-cgroups=true']}}",
     .r = -EPERM,
     .reason = "'writable-cgroups=true'"},
    {.body = "{'HostConfig':{'MaskedPaths':[]}}", .r = -EPERM, .reason = "MaskedPaths"},
    {.body = "{'HostConfig':{'ReadonlyPaths':['/proc/sys']}}",
     .r = -EPERM,
     .reason = "ReadonlyPaths"},
    {.body = "{'HostConfig':{'Sysctls':{'net.ipv4.ip_forward':'1'}}}",
     .r = -EPERM,
     .reason = "--sysctl"},
    {.body = "{'HostConfig':{'CgroupParent':'/'}}", .r = -EPERM, .reason = "--cgroup-parent"},
    {.body = "{'HostConfig':{'Runtime':'kata'}}", .r = -EPERM, .reason = "runtime 'kata'"},
    {.body = "{'HostConfig':{'Runtime':'io.containerd.runc.v2'}}",
     .r = -EPERM,
     .reason = "runtime 'io.containerd.runc.v2'"},
    {.body = "{'HostConfig':{'OomScoreAdj':-1000}}", .r = -EPERM, .reason = "--oom-score-adj"},
    {.body = "{'HostConfig':{'PortBindings':{'80/tcp':[{'HostPort':'80'}]}}}",
     .r = -EPERM,
     .reason = "host port 80 is not allowed"},
    {.body = "{'HostConfig':{'PortBindings':{'80/tcp':[{'HostPort':'8080'}],"
             "'22/tcp':[{'HostPort':'1000-2000'}]}}}",
     .r = -EPERM,
     .reason = "host port 1000 is not allowed"},
    {.body = "{'HostConfig':{'PortBindings':{'53/udp':[{'HostIp':'0.0.0.0','HostPort':'1023'}]}}}",
     .r = -EPERM,
     .reason = "port 1023"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'npipe','Source':'x','Target':'/x'}]}}",
     .r = -EPERM,
     .reason = "mount type 'npipe'"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'image','Source':'alpine','Target':'/x'}]}}",
     .r = -EPERM,
     .reason = "mount type 'image'"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'cluster','Source':'x','Target':'/x'}]}}",
     .r = -EPERM,
     .reason = "mount type 'cluster'"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'volume','Source':'v','Target':'/v',"
             "'VolumeOptions':{'DriverConfig':{'Options':{'o':'bind'}}}}]}}",
     .r = -EPERM,
     .reason = "volume driver option 'o'"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'volume','Source':'v','Target':'/v',"
             "'VolumeOptions':{'DriverConfig':{'Name':'local','Options':{'device':'/etc'}}}}]}}",
     .r = -EPERM,
     .reason = "volume driver option 'device'"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'volume','Source':'v','Target':'/v',"
             "'VolumeOptions':{'DriverConfig':{'Options':{'type':'none'}}}}]}}",
     .r = -EPERM,
     .reason = "volume driver option 'type'"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'volume','Source':'v','Target':'/v',"
             "'VolumeOptions':{'DriverConfig':{'Name':'sshfs'}}}]}}",
     .r = -EPERM,
     .reason = "volume driver 'sshfs'"},
    {.body = "{'HostConfig':{'VolumeDriver':'flocker'}}",
     .r = -EPERM,
     .reason = "volume driver 'flocker'"},
    {.body =
         "{'HostConfig':{'DeviceRequests':[{'Driver':'cdi','DeviceIDs':['nvidia.com/gpu=0']}]}}",
     .r = -EPERM,
     .reason = "device driver 'cdi'"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':1,"
             "'Capabilities':[['gpu','sys_admin']]}]}}",
     .r = -EPERM,
     .reason = "capability 'sys_admin'"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Count':1}]}}",
     .r = -EPERM,
     .reason = "must ask for GPUs"},
    {.body = "{'Labels':{'ds01.user':'bob'}}",
     .r = -EPERM,
     .reason = "ds01: label ds01.user is set by ds01; remove it"},
    {.body = "{'Labels':{'ds01.protected':'true'}}",
     .r = -EPERM,
     .reason = "label ds01.protected is set by ds01"},
    {.body = "{'Labels':{'ds01.monitoring':'true'}}",
     .r = -EPERM,
     .reason = "label ds01.monitoring"},
    {.body = "{'Labels':{'ds01.gpu.uuids':'GPU-1'}}", .r = -EPERM, .reason = "ds01.gpu.uuids"},
    {.body = "{'Labels':{'ds01.interface':'docker'}}",
     .r = -EPERM,
     .reason = "label ds01.interface=docker is set by ds01"},
    {.body = "{'Labels':{'DS01.User':'bob'}}", .r = -EPERM, .reason = "label DS01.User"},
    {.body = "{'HostConfig':{'Annotations':{'cdi.k8s.io/x':'nvidia.com/gpu=all'}}}",
     .r = -EPERM,
     .reason = "annotations"},
    {.body = "{'HostConfig':{'Ulimits':[{'Name':'rtprio','Soft':99,'Hard':99}]}}",
     .r = -EPERM,
     .reason = "rtprio"},
    {.body = "{'HostConfig':{'LogConfig':{'Type':'awslogs','Config':{'awslogs-group':'x'}}}}",
     .r = -EPERM,
     .reason = "log driver 'awslogs'"},
    {.body = "{'HostConfig':{'LogConfig':{'type':'gelf'}}}", .r = -EINVAL, .reason = "'Type'"},
    {.body = "{'HostConfig':{'CpuRealtimeRuntime':950000}}",
     .r = -EPERM,
     .reason = "--cpu-rt-runtime"},
    {.body = "{'HostConfig':{'Binds':['/home/a:/var/run/nvidia-container-devices/all']}}",
     .r = -EPERM,
     .reason = "selects GPUs"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'tmpfs','Target':'/run//nvidia-container-devices/"
             "GPU-1'}]}}",
     .r = -EPERM,
     .reason = "selects GPUs"},
    {.body = "{'HostConfig':{'Tmpfs':{'/var/run/nvidia-container-devices':''}}}",
     .r = -EPERM,
     .reason = "selects GPUs"},
    {.body = "{'Volumes':{'/var/run/nvidia-container-devices/0':{}}}",
     .r = -EPERM,
     .reason = "selects GPUs"},

    /* Go matches keys case-insensitively: variants are refused */
    {.body = "{'hostconfig':{'Privileged':true}}", .r = -EINVAL, .reason = "'HostConfig'"},
    {.body = "{'HOSTCONFIG':{}}", .r = -EINVAL, .reason = "'HOSTCONFIG' in the request"},
    {.body = "{'HostConfig':{'privileged':true}}", .r = -EINVAL, .reason = "'Privileged'"},
    {.body = "{'HostConfig':{'Privileged':false,'PRIVILEGED':true}}",
     .r = -EINVAL,
     .reason = "'Privileged'"},
    {.body = "{'HostConfig':{'\\u017fysctls':{'kernel.x':'1'}}}",
     .r = -EINVAL,
     .reason = "must be written 'Sysctls'"},
    {.body = "{'HostConfig':{'Mas\\u212aedPaths':[]}}", .r = -EINVAL, .reason = "'MaskedPaths'"},
    {.body = "{'HostConfig':{'capadd':['ALL']}}", .r = -EINVAL, .reason = "'CapAdd'"},
    {.body = "{'HostConfig':{'Mounts':[{'type':'bind','Source':'/etc','Target':'/x'}]}}",
     .r = -EINVAL,
     .reason = "'Type'"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'driver':'cdi','Count':1,"
             "'Capabilities':[['gpu']]}]}}",
     .r = -EINVAL,
     .reason = "'Driver'"},
    {.body = "{'NetworkingConfig':{'endpointsconfig':{'host':{}}}}",
     .r = -EINVAL,
     .reason = "'EndpointsConfig'"},
    {.body = "{'labels':{'ds01.user':'bob'}}", .r = -EINVAL, .reason = "'Labels'"},
    /* a key that is no field (Go ignores it) is fine, as is a map key */
    {.body = "{'HostConfig':{'PrivilegedX':true},'Labels':{'LABELS':'x'}}"},

    /* malformed */
    {.body = "[]", .r = -EINVAL, .reason = "JSON object"},
    {.body = "'x'", .r = -EINVAL, .reason = "JSON object"},
    {.body = "{'HostConfig':'x'}", .r = -EINVAL, .reason = "HostConfig must be an object"},
    {.body = "{'HostConfig':{'Privileged':'yes'}}",
     .r = -EINVAL,
     .reason = "HostConfig.Privileged must be true or false"},
    {.body = "{'HostConfig':{'Binds':'/etc:/etc'}}",
     .r = -EINVAL,
     .reason = "HostConfig.Binds must be a list"},
    {.body = "{'HostConfig':{'Binds':[1]}}", .r = -EINVAL, .reason = "strings only"},
    {.body = "{'HostConfig':{'Binds':['/a:/b:ro:x']}}", .r = -EINVAL, .reason = "malformed bind"},
    {.body = "{'HostConfig':{'Binds':[':/b']}}", .r = -EINVAL, .reason = "malformed bind"},
    {.body = "{'HostConfig':{'Binds':['']}}", .r = -EINVAL, .reason = "malformed bind"},
    {.body = "{'HostConfig':{'Binds':['/home/a\\u0000/etc:/b']}}",
     .r = -EINVAL,
     .reason = "strings only"},
    {.body = "{'HostConfig':{'Mounts':[1]}}", .r = -EINVAL, .reason = "Mounts must hold objects"},
    {.body = "{'HostConfig':{'Mounts':[{'Source':'/x','Target':'/y'}]}}",
     .r = -EINVAL,
     .reason = "without a Type"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'bind','Source':'etc','Target':'/y'}]}}",
     .r = -EINVAL,
     .reason = "must be an absolute path"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'bind','Target':'/y'}]}}",
     .r = -EINVAL,
     .reason = "must be an absolute path"},
    {.body = "{'HostConfig':{'Mounts':[{'Type':'bind','Source':['/x'],'Target':'/y'}]}}",
     .r = -EINVAL,
     .reason = "Mounts.Source must be a string"},
    {.body = "{'Labels':[]}", .r = -EINVAL, .reason = "Labels must be an object"},
    {.body = "{'Labels':{'a':1}}", .r = -EINVAL, .reason = "Labels must map names to strings"},
    {.body = "{'Env':'A=1'}", .r = -EINVAL, .reason = "Env must be a list"},
    {.body = "{'Env':[1]}", .r = -EINVAL, .reason = "Env must hold strings"},
    {.body = "{'User':0}", .r = -EINVAL, .reason = "User must be a string"},
    {.body = "{'HostConfig':{'Memory':'1g'}}", .r = -EINVAL, .reason = "Memory must be an integer"},
    {.body = "{'HostConfig':{'Memory':1.5e9}}",
     .r = -EINVAL,
     .reason = "Memory must be an integer"},
    {.body = "{'HostConfig':{'PidsLimit':true}}",
     .r = -EINVAL,
     .reason = "PidsLimit must be an integer"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':2,"
             "'DeviceIDs':['0']}]}}",
     .r = -EINVAL,
     .reason = "both a count and device IDs"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':-2}]}}",
     .r = -EINVAL,
     .reason = "count of -2"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':1,"
             "'Capabilities':['gpu']}]}}",
     .r = -EINVAL,
     .reason = "list of lists"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':'1'}]}}",
     .r = -EINVAL,
     .reason = "Count must be an integer"},
    {.body = "{'HostConfig':{'DeviceRequests':{'Driver':'nvidia'}}}",
     .r = -EINVAL,
     .reason = "DeviceRequests must be a list"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':1},"
             "{'Driver':'nvidia','Count':1}]}}",
     .r = -EINVAL,
     .reason = "do not add up"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':1},"
             "{'Driver':'nvidia','DeviceIDs':['0']}]}}",
     .r = -EINVAL,
     .reason = "do not add up"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','Count':-1},"
             "{'Driver':'nvidia','DeviceIDs':['0']}]}}",
     .r = -EINVAL,
     .reason = "do not add up"},
    {.body = "{'HostConfig':{'DeviceRequests':[{'Driver':'nvidia','DeviceIDs':['all','0']}]}}",
     .r = -EINVAL,
     .reason = "mix"},
    {.body = "{'Env':['NVIDIA_VISIBLE_DEVICES=all,0'],'HostConfig':{'Runtime':'nvidia'}}",
     .r = -EINVAL,
     .reason = "mix 'all'"},
    {.body = "{'HostConfig':{'PortBindings':{'80/tcp':[{'HostPort':'abc'}]}}}",
     .r = -EINVAL,
     .reason = "host port 'abc'"},
    {.body = "{'HostConfig':{'PortBindings':{'80/tcp':[{'HostPort':'70000'}]}}}",
     .r = -EINVAL,
     .reason = "host port '70000'"},
    {.body = "{'HostConfig':{'PortBindings':{'80/tcp':[{'HostPort':8080}]}}}",
     .r = -EINVAL,
     .reason = "HostPort must be a string"},
    {.body = "{'HostConfig':{'PortBindings':{'80/tcp':{'HostPort':'8080'}}}}",
     .r = -EINVAL,
     .reason = "must be a list"},
    {.body = "{'HostConfig':{'NetworkMode':'container:'}}",
     .r = -EINVAL,
     .reason = "empty container name"},
    {.body = "{'NetworkingConfig':{'EndpointsConfig':{'n':5}}}",
     .r = -EINVAL,
     .reason = "must be an object"},
    {.body = "{'HostConfig':{'SecurityOpt':[5]}}", .r = -EINVAL, .reason = "strings only"},
    {.body = "{'HostConfig':{'Tmpfs':{'/x':1}}}", .r = -EINVAL, .reason = "Tmpfs must map"},
};

static void check_inspect_case(size_t i, const struct inspect_case *c)
{
        struct create_request req, sentinel;
        char reason[POLICY_REASON_MAX] = "untouched", buf[4096];
        json_t *body = jparse(c->body);
        int r;

        memset(&req, 0x5a, sizeof(req));
        memcpy(&sentinel, &req, sizeof(req));
        r = create_inspect(body, c->name, &req, reason, sizeof(reason));
        if (r != c->r)
                fail_msg("case %zu %s: returned %d, expected %d (%s)", i, c->body, r, c->r, reason);
        if (r < 0) {
                assert_reason_shape(reason);
                if (!strstr(reason, c->reason))
                        fail_msg("case %zu %s: reason '%s' lacks '%s'", i, c->body, reason,
                                 c->reason);
                /* the out-parameter is not touched on failure */
                assert_memory_equal(&req, &sentinel, sizeof(req));
                json_decref(body);
                return;
        }
        assert_string_equal(reason, "untouched");
        assert_string_equal(req.type, c->type ? c->type : "docker");
        assert_string_equal(req.interface, c->iface ? c->iface : "docker");
        if (req.gpu != c->gpu || req.gpu_count != c->gpu_count)
                fail_msg("case %zu %s: gpu %d count %d, expected %d %d", i, c->body, req.gpu,
                         req.gpu_count, c->gpu, c->gpu_count);
        buf[0] = 0;
        for (size_t k = 0; k < req.n_gpu_devices; k++)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", k ? "|" : "",
                         req.gpu_devices[k]);
        assert_string_equal(buf, c->devices ? c->devices : "");
        assert_int_equal(req.nvidia_runtime, c->nvidia_runtime);
        join(buf, sizeof(buf), req.binds, req.n_binds);
        assert_string_equal(buf, c->binds ? c->binds : "");
        join(buf, sizeof(buf), req.volumes, req.n_volumes);
        assert_string_equal(buf, c->volumes ? c->volumes : "");
        join(buf, sizeof(buf), req.containers, req.n_containers);
        assert_string_equal(buf, c->containers ? c->containers : "");
        join(buf, sizeof(buf), req.networks, req.n_networks);
        assert_string_equal(buf, c->networks ? c->networks : "");
        create_request_release(&req);
        assert_int_equal(req.n_binds + req.n_volumes + req.n_containers + req.n_networks, 0);
        json_decref(body);
}

static void test_inspect_table(void **state)
{
        size_t n_ok = 0, n_denied = 0, n_malformed = 0;

        for (size_t i = 0; i < ELEMENTSOF(inspect_cases); i++) {
                check_inspect_case(i, &inspect_cases[i]);
                if (inspect_cases[i].r == 0)
                        n_ok++;
                else if (inspect_cases[i].r == -EPERM)
                        n_denied++;
                else
                        n_malformed++;
        }
        print_message("create_inspect: %zu cases (%zu accepted, %zu denied, %zu malformed)\n",
                      ELEMENTSOF(inspect_cases), n_ok, n_denied, n_malformed);
        assert_true(ELEMENTSOF(inspect_cases) >= 60);
}

/* Bodies built in code: limits of the collections, NUL, long names, reasons. */
static void test_inspect_limits(void **state)
{
        struct create_request req;
        char reason[POLICY_REASON_MAX];
        json_t *body, *binds;
        char ref[400];

        /* 32 distinct volumes are fine, 33 are not */
        body = jparse("{'HostConfig':{'Binds':[]}}");
        binds = json_object_get(json_object_get(body, "HostConfig"), "Binds");
        for (int i = 0; i < REWRITE_MAX_REFS; i++) {
                snprintf(ref, sizeof(ref), "vol%d:/v%d", i, i);
                json_array_append_new(binds, json_string(ref));
        }
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), 0);
        assert_int_equal(req.n_volumes, REWRITE_MAX_REFS);
        assert_string_equal(req.volumes[31], "vol31");
        create_request_release(&req);
        json_array_append_new(binds, json_string("extra:/extra"));
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "more than 32 volumes"));
        json_decref(body);

        /* a container name of POLICY_REF_MAX bytes is too long */
        memset(ref, 'c', POLICY_REF_MAX);
        ref[POLICY_REF_MAX] = 0;
        body = json_pack("{s:{s:[s]}}", "HostConfig", "VolumesFrom", ref);
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), -EINVAL);
        assert_non_null(strstr(reason, "too long"));
        json_decref(body);
        ref[POLICY_REF_MAX - 1] = 0;
        body = json_pack("{s:{s:[s]}}", "HostConfig", "VolumesFrom", ref);
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), 0);
        assert_int_equal(req.n_containers, 1);
        create_request_release(&req);
        json_decref(body);

        /* a NUL inside a label value, and a newline in a label key: the reason
         * stays one line */
        body = jparse("{'Labels':{'a':'x\\u0000y'}}");
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), -EINVAL);
        json_decref(body);
        body = jparse("{'Labels':{'ds01.x\\ny':'1'}}");
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), -EPERM);
        assert_string_equal(reason, "ds01: label ds01.x?y is set by ds01; remove it");
        json_decref(body);

        /* a small reason buffer is cut, NUL-terminated */
        body = jparse("{'HostConfig':{'Privileged':true}}");
        assert_int_equal(create_inspect(body, NULL, &req, reason, 12), -EPERM);
        assert_string_equal(reason, "ds01: --pri");
        assert_int_equal(create_inspect(body, NULL, &req, NULL, 0), -EPERM);
        json_decref(body);

        /* the body is not changed */
        body = jparse("{'HostConfig':{'Binds':['/a:/b']},'Labels':{'x':'y'}}");
        {
                char *before = json_dumps(body, JSON_SORT_KEYS), *after;

                assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), 0);
                after = json_dumps(body, JSON_SORT_KEYS);
                assert_string_equal(before, after);
                free(before);
                free(after);
                create_request_release(&req);
        }
        json_decref(body);
        create_request_release(NULL);
}

/* ---- create_rewrite ---- */

static const struct create_limits limits_full = {
    .max_cpus = 4,
    .memory = 32 * GIB,
    .memory_swap = 0,
    .shm_size = 8 * GIB,
    .pids_limit = 4096,
    .storage_tmp = 10 * GIB,
};

static const struct create_context ctx_plain = {
    .user = "alice",
    .uid = 1001,
    .gid = 1001,
    .cgroup_parent = "ds01-students-alice.slice",
    .force_user = true,
    .created_at = "2025-03-01T10:00:00Z",
};

static const struct create_context ctx_gpu_requests = {
    .user = "alice",
    .uid = 1001,
    .gid = 1001,
    .cgroup_parent = "ds01-students-alice.slice",
    .created_at = "2025-03-01T10:00:00Z",
    .gpu_slots = "0,1.2",
    .gpu_uuids = "GPU-aaaa,MIG-bbbb",
    .n_uuids = 2,
    .gpu_allocated_at = "2025-03-01T10:00:01Z",
};

static const struct create_context ctx_gpu_runtime = {
    .user = "alice",
    .uid = 1001,
    .gid = 1001,
    .cgroup_parent = "/ds01/students/alice",
    .created_at = "2025-03-01T10:00:00Z",
    .gpu_slots = "3",
    .gpu_uuids = "GPU-cccc",
    .n_uuids = 1,
    .gpu_allocated_at = "2025-03-01T10:00:01Z",
    .attach_nvidia_runtime = true,
};

#define LABELS_PLAIN                                                                               \
        "'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"                \
        "'ds01.interface':'docker','ds01.created_at':'2025-03-01T10:00:00Z'"
#define LIMITS_CAPPED                                                                              \
        "'NanoCpus':4000000000,'CpuQuota':0,'CpuPeriod':0,'Memory':34359738368,"                   \
        "'MemorySwap':34359738368,'ShmSize':8589934592,'PidsLimit':4096,"                          \
        "'Tmpfs':{'/tmp':'rw,nosuid,nodev,size=10737418240'}"
#define LIMITS_CAPPED_RUN                                                                          \
        "'NanoCpus':4000000000,'CpuQuota':0,'CpuPeriod':0,'Memory':34359738368,"                   \
        "'MemorySwap':34359738368,'ShmSize':8589934592,'PidsLimit':4096,"                          \
        "'Tmpfs':{'/run':'size=1m','/tmp':'rw,nosuid,nodev,size=10737418240'}"

struct rewrite_case {
        const char *what;
        const char *body;
        const struct create_limits *l;    /* NULL: limits_full */
        const struct create_context *ctx; /* NULL: ctx_plain */
        const char *expect;
};

static const struct create_limits limits_none = {0};
static const struct create_limits limits_swap = {.memory = 8 * GIB, .memory_swap = 16 * GIB};
static const struct create_limits limits_swap_low = {.memory = 8 * GIB, .memory_swap = 4 * GIB};
static const struct create_limits limits_frac = {.max_cpus = 0.29};
static const struct create_limits limits_cpu = {.max_cpus = 2.5};
static const struct create_context ctx_no_cgroup = {.user = "alice", .uid = 5, .gid = 6};
static const struct create_context ctx_no_force = {
    .user = "alice", .uid = 1001, .gid = 1001, .cgroup_parent = "s.slice", .created_at = "t"};

static const struct rewrite_case rewrite_cases[] = {
    {"unset limits are capped; labels, env, cgroup parent added", "{'Image':'ubuntu'}", NULL, NULL,
     "{'Image':'ubuntu','Labels':{" LABELS_PLAIN "},'HostConfig':{" LIMITS_CAPPED
     ",'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"null fields are unset",
     "{'Labels':null,'Env':null,'HostConfig':{'Memory':null,"
     "'MemorySwap':null,'NanoCpus':null,'PidsLimit':null,'ShmSize':null,'Tmpfs':null}}",
     NULL, NULL,
     "{'Labels':{" LABELS_PLAIN "},'HostConfig':{" LIMITS_CAPPED
     ",'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"lower values are kept",
     "{'HostConfig':{'NanoCpus':1500000000,'Memory':1073741824,'MemorySwap':2147483648,"
     "'ShmSize':67108864,'PidsLimit':100}}",
     NULL, NULL,
     "{'Labels':{" LABELS_PLAIN "},'HostConfig':{'NanoCpus':1500000000,'CpuQuota':0,"
     "'CpuPeriod':0,'Memory':1073741824,'MemorySwap':2147483648,'ShmSize':67108864,"
     "'PidsLimit':100,'Tmpfs':{'/tmp':'rw,nosuid,nodev,size=10737418240'},"
     "'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"higher values are capped",
     "{'HostConfig':{'NanoCpus':64000000000,'Memory':274877906944,'MemorySwap':549755813888,"
     "'ShmSize':68719476736,'PidsLimit':1000000}}",
     NULL, NULL,
     "{'Labels':{" LABELS_PLAIN "},'HostConfig':{" LIMITS_CAPPED
     ",'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"0 and -1 mean unlimited: capped",
     "{'HostConfig':{'NanoCpus':0,'Memory':0,'MemorySwap':-1,'ShmSize':0,'PidsLimit':-1}}", NULL,
     NULL,
     "{'Labels':{" LABELS_PLAIN "},'HostConfig':{" LIMITS_CAPPED
     ",'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"PidsLimit 0, negative sizes", "{'HostConfig':{'PidsLimit':0,'ShmSize':-5,'Memory':-1}}", NULL,
     NULL,
     "{'Labels':{" LABELS_PLAIN "},'HostConfig':{" LIMITS_CAPPED
     ",'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"CpuQuota with CpuPeriod becomes NanoCpus",
     "{'HostConfig':{'CpuQuota':150000,'CpuPeriod':100000}}", &limits_cpu, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'NanoCpus':1500000000,'CpuQuota':0,"
     "'CpuPeriod':0},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"CpuQuota without CpuPeriod: period 100000", "{'HostConfig':{'CpuQuota':50000,'CpuPeriod':0}}",
     &limits_cpu, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'NanoCpus':500000000,'CpuQuota':0,"
     "'CpuPeriod':0},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"CpuQuota above the cap", "{'HostConfig':{'CpuQuota':800000,'CpuPeriod':50000}}", &limits_cpu,
     &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'NanoCpus':2500000000,'CpuQuota':0,"
     "'CpuPeriod':0},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"CpuQuota and NanoCpus: the lower", "{'HostConfig':{'CpuQuota':100000,'NanoCpus':2000000000}}",
     &limits_cpu, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'NanoCpus':1000000000,'CpuQuota':0,"
     "'CpuPeriod':0},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"CpuQuota -1 and a lone CpuPeriod", "{'HostConfig':{'CpuQuota':-1,'CpuPeriod':20000}}",
     &limits_cpu, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'NanoCpus':2500000000,'CpuQuota':0,"
     "'CpuPeriod':0},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"fractional CPUs round down, not below", "{}", &limits_frac, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'NanoCpus':290000000,'CpuQuota':0,"
     "'CpuPeriod':0},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"no CPU cap: CpuQuota untouched", "{'HostConfig':{'CpuQuota':50000}}", &limits_none,
     &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'CpuQuota':50000},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"swap: unset gets the swap cap", "{'HostConfig':{'Memory':2147483648}}", &limits_swap,
     &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':2147483648,'MemorySwap':17179869184},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"swap: a lower one is kept", "{'HostConfig':{'Memory':2147483648,'MemorySwap':4294967296}}",
     &limits_swap, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':2147483648,'MemorySwap':4294967296},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"swap: below Memory is raised to it",
     "{'HostConfig':{'Memory':4294967296,"
     "'MemorySwap':1073741824}}",
     &limits_swap, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':4294967296,'MemorySwap':4294967296},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"swap: -1 and a higher memory are capped",
     "{'HostConfig':{'Memory':68719476736,"
     "'MemorySwap':-1}}",
     &limits_swap, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':8589934592,'MemorySwap':17179869184},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"swap: above the cap is capped", "{'HostConfig':{'MemorySwap':68719476736}}", &limits_swap,
     &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':8589934592,'MemorySwap':17179869184},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"swap: a swap cap below memory means none", "{}", &limits_swap_low, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':8589934592,'MemorySwap':8589934592},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"MemoryReservation above the final Memory is lowered",
     "{'HostConfig':{'MemoryReservation':17179869184}}", &limits_swap, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':8589934592,'MemorySwap':17179869184,"
     "'MemoryReservation':8589934592},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"no memory cap: Memory and swap untouched", "{'HostConfig':{'Memory':1,'MemorySwap':-1}}",
     &limits_none, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Memory':1,'MemorySwap':-1},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"Tmpfs: the caller's /tmp replaced, others kept",
     "{'HostConfig':{'Tmpfs':{'/tmp':'rw,exec,size=100g','/tmp/':'','//tmp/.':'',"
     "'/run':'size=1m'}}}",
     NULL, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{" LIMITS_CAPPED_RUN
     "},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"Env: NVIDIA_VISIBLE_DEVICES entries dropped, the rest kept in order",
     "{'Env':['A=1','NVIDIA_VISIBLE_DEVICES=all','B=2','NVIDIA_VISIBLE_DEVICES',"
     "'NVIDIA_VISIBLE_DEVICESX=1','C=3']}",
     &limits_none, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{},"
     "'Env':['A=1','B=2','NVIDIA_VISIBLE_DEVICESX=1','C=3','NVIDIA_VISIBLE_DEVICES=void']}"},
    {"no GPU: a caller's device request and runtime env are dropped",
     "{'Env':['NVIDIA_VISIBLE_DEVICES=all'],'HostConfig':{'Runtime':'nvidia',"
     "'DeviceRequests':[{'Driver':'nvidia','Count':-1}]}}",
     &limits_none, &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{'Runtime':'nvidia'},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"GPUs as a device request (runtime nvidia cleared)",
     "{'Env':['A=1','NVIDIA_VISIBLE_DEVICES=0'],'HostConfig':{'Runtime':'nvidia',"
     "'DeviceRequests':[{'Driver':'nvidia','Count':2,'Capabilities':[['gpu','utility']]}]}}",
     &limits_none, &ctx_gpu_requests,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker','ds01.created_at':'2025-03-01T10:00:00Z',"
     "'ds01.gpu.slots':'0,1.2','ds01.gpu.uuids':'GPU-aaaa,MIG-bbbb',"
     "'ds01.gpu.allocated_at':'2025-03-01T10:00:01Z'},'HostConfig':{'Runtime':'',"
     "'DeviceRequests':[{'Driver':'nvidia','Count':0,'DeviceIDs':['GPU-aaaa','MIG-bbbb'],"
     "'Capabilities':[['gpu']]}],'CgroupParent':'ds01-students-alice.slice'},"
     "'Env':['A=1']}"},
    {"GPUs as a device request, runc kept", "{'HostConfig':{'Runtime':'runc'}}", &limits_none,
     &ctx_gpu_requests,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker','ds01.created_at':'2025-03-01T10:00:00Z',"
     "'ds01.gpu.slots':'0,1.2','ds01.gpu.uuids':'GPU-aaaa,MIG-bbbb',"
     "'ds01.gpu.allocated_at':'2025-03-01T10:00:01Z'},'HostConfig':{'Runtime':'runc',"
     "'DeviceRequests':[{'Driver':'nvidia','Count':0,'DeviceIDs':['GPU-aaaa','MIG-bbbb'],"
     "'Capabilities':[['gpu']]}],'CgroupParent':'ds01-students-alice.slice'}}"},
    {"GPUs through the nvidia runtime",
     "{'Env':['NVIDIA_VISIBLE_DEVICES=all','X=y'],'HostConfig':{'DeviceRequests':"
     "[{'Driver':'nvidia','Count':1}]}}",
     &limits_none, &ctx_gpu_runtime,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker','ds01.created_at':'2025-03-01T10:00:00Z',"
     "'ds01.gpu.slots':'3','ds01.gpu.uuids':'GPU-cccc',"
     "'ds01.gpu.allocated_at':'2025-03-01T10:00:01Z'},'HostConfig':{'Runtime':'nvidia',"
     "'CgroupParent':'/ds01/students/alice'},"
     "'Env':['X=y','NVIDIA_VISIBLE_DEVICES=GPU-cccc']}"},
    {"labels: the caller's kept, ds01.interface from the CLI",
     "{'Labels':{'app':'x','ds01.interface':'orchestration'}}", &limits_none, &ctx_no_force,
     "{'Labels':{'app':'x','ds01.user':'alice','ds01.managed':'true',"
     "'ds01.container_type':'orchestration','ds01.interface':'orchestration',"
     "'ds01.created_at':'t'},'HostConfig':{'CgroupParent':'s.slice'},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"User forced with a host bind", "{'User':'root','HostConfig':{'Binds':['/home/alice:/w']}}",
     &limits_none, &ctx_plain,
     "{'User':'1001:1001','Labels':{" LABELS_PLAIN "},'HostConfig':{'Binds':"
     "['/home/alice:/w'],'CgroupParent':'ds01-students-alice.slice',"
     "'SecurityOpt':['no-new-privileges']},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"User forced with a bind Mount",
     "{'HostConfig':{'Mounts':[{'Type':'bind',"
     "'Source':'/home/alice','Target':'/w'}]}}",
     &limits_none, &ctx_plain,
     "{'User':'1001:1001','Labels':{" LABELS_PLAIN "},'HostConfig':{'Mounts':[{'Type':'bind',"
     "'Source':'/home/alice','Target':'/w'}],'CgroupParent':'ds01-students-alice.slice',"
     "'SecurityOpt':['no-new-privileges']},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"User kept with named volumes only", "{'User':'root','HostConfig':{'Binds':['v:/w']}}",
     &limits_none, &ctx_plain,
     "{'User':'root','Labels':{" LABELS_PLAIN "},'HostConfig':{'Binds':['v:/w'],"
     "'CgroupParent':'ds01-students-alice.slice'},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"User kept without force_user", "{'User':'root','HostConfig':{'Binds':['/home/a:/w']}}",
     &limits_none, &ctx_no_force,
     "{'User':'root','Labels':{'ds01.user':'alice','ds01.managed':'true',"
     "'ds01.container_type':'docker','ds01.interface':'docker','ds01.created_at':'t'},"
     "'HostConfig':{'Binds':['/home/a:/w'],'CgroupParent':'s.slice'},"
     "'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
    {"no cgroup parent: a stray one removed", "{'HostConfig':{'CgroupParent':''}}", &limits_none,
     &ctx_no_cgroup,
     "{'Labels':{'ds01.user':'alice','ds01.managed':'true','ds01.container_type':'docker',"
     "'ds01.interface':'docker'},'HostConfig':{},'Env':['NVIDIA_VISIBLE_DEVICES=void']}"},
};

static void test_rewrite_table(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(rewrite_cases); i++) {
                const struct rewrite_case *c = &rewrite_cases[i];
                struct create_request req;
                char reason[POLICY_REASON_MAX];
                json_t *body = jparse(c->body), *expect = jparse(c->expect);

                if (create_inspect(body, NULL, &req, reason, sizeof(reason)) != 0)
                        fail_msg("%s: inspect refused: %s", c->what, reason);
                assert_int_equal(create_rewrite(body, &req, c->l ? c->l : &limits_full,
                                                c->ctx ? c->ctx : &ctx_plain),
                                 0);
                if (!json_equal(body, expect)) {
                        char *got = json_dumps(body, JSON_SORT_KEYS),
                             *want = json_dumps(expect, JSON_SORT_KEYS);

                        fail_msg("%s:\n got  %s\n want %s", c->what, got, want);
                }
                create_request_release(&req);
                json_decref(body);
                json_decref(expect);
        }
        print_message("create_rewrite: %zu cases\n", ELEMENTSOF(rewrite_cases));
}

/* The request decides the type; a stray ds01.* label in a body that skipped
 * inspect is overwritten; a non-object Labels/HostConfig/Env is replaced. */
static void test_rewrite_odd_bodies(void **state)
{
        struct create_request req = {.type = "devcontainer", .interface = "docker"};
        json_t *body = jparse("{'Labels':{'ds01.user':'bob','DS01.protected':'true','k':'v'},"
                              "'HostConfig':5,'Env':'x'}");
        json_t *expect = jparse("{'Labels':{'k':'v','ds01.user':'alice','ds01.managed':'true',"
                                "'ds01.container_type':'devcontainer','ds01.interface':'docker'},"
                                "'HostConfig':{},'Env':['NVIDIA_VISIBLE_DEVICES=void']}");

        assert_int_equal(create_rewrite(body, &req, &limits_none, &ctx_no_cgroup), 0);
        assert_true(json_equal(body, expect));
        json_decref(body);
        json_decref(expect);

        /* n_uuids set but no uuids: treated as no GPU */
        {
                struct create_context ctx = ctx_gpu_requests;

                ctx.gpu_uuids = "";
                body = jparse("{}");
                assert_int_equal(create_rewrite(body, &req, &limits_none, &ctx), 0);
                assert_string_equal(
                    json_string_value(json_array_get(json_object_get(body, "Env"), 0)),
                    "NVIDIA_VISIBLE_DEVICES=void");
                assert_null(json_object_get(json_object_get(body, "Labels"), "ds01.gpu.uuids"));
                json_decref(body);
        }
        body = jparse("[]");
        assert_int_equal(create_rewrite(body, &req, &limits_none, &ctx_no_cgroup), -EINVAL);
        json_decref(body);
}

/* ---- the security review's cases ---- */

/* create_inspect on body: returns r, with want in the reason when r < 0. */
static void expect_inspect(const char *body, int r, const char *want)
{
        struct create_request req;
        char reason[POLICY_REASON_MAX] = "";
        json_t *j = jparse(body);
        int got = create_inspect(j, NULL, &req, reason, sizeof(reason));

        if (got != r)
                fail_msg("%s: returned %d, expected %d (%s)", body, got, r, reason);
        if (got < 0) {
                assert_reason_shape(reason);
                if (want && !strstr(reason, want))
                        fail_msg("%s: reason '%s' lacks '%s'", body, reason, want);
        } else
                create_request_release(&req);
        json_decref(j);
}

/* create_inspect, then create_rewrite (limits_none): the rewritten body. */
static json_t *inspect_and_rewrite(const char *body, const struct create_context *ctx)
{
        struct create_request req;
        char reason[POLICY_REASON_MAX];
        json_t *j = jparse(body);

        if (create_inspect(j, NULL, &req, reason, sizeof(reason)) != 0)
                fail_msg("%s: inspect refused: %s", body, reason);
        assert_int_equal(create_rewrite(j, &req, &limits_none, ctx), 0);
        create_request_release(&req);
        return j;
}

static void assert_json(json_t *got, const char *want_text)
{
        json_t *want = jparse(want_text);

        if (!json_equal(got, want)) {
                char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

                fail_msg("\n got  %s\n want %s", g, w);
        }
        json_decref(want);
}

/* With the User forced, setuid binaries must not regain root. */
static void test_rewrite_no_new_privileges(void **state)
{
        static const struct {
                const char *body;
                const struct create_context *ctx;
                const char *security_opt; /* HostConfig.SecurityOpt after; NULL: absent */
                const char *user;         /* User after; NULL: absent */
        } cases[] = {
            {"{'HostConfig':{'Binds':['/home/alice:/w']}}", &ctx_plain, "['no-new-privileges']",
             "1001:1001"},
            {"{'HostConfig':{'Mounts':[{'Type':'bind','Source':'/home/alice','Target':'/w'}],"
             "'SecurityOpt':null}}",
             &ctx_plain, "['no-new-privileges']", "1001:1001"},
            /* present: not twice */
            {"{'HostConfig':{'Binds':['/home/alice:/w'],'SecurityOpt':['no-new-privileges']}}",
             &ctx_plain, "['no-new-privileges']", "1001:1001"},
            /* =false (and every other spelling) dropped, the last word is ds01's */
            {"{'User':'0','HostConfig':{'Binds':['/home/alice:/w'],'SecurityOpt':["
             "'apparmor=docker-default','no-new-privileges=false','no-new-privileges:true',"
             "'no-new-privileges','seccomp=builtin','no-new-privileges:false']}}",
             &ctx_plain, "['apparmor=docker-default','seccomp=builtin','no-new-privileges']",
             "1001:1001"},
            /* no host bind, or no forced user: the caller's options as they are */
            {"{'HostConfig':{'Binds':['v:/w']}}", &ctx_plain, NULL, NULL},
            {"{'User':'root','HostConfig':{'SecurityOpt':['no-new-privileges=false']}}", &ctx_plain,
             "['no-new-privileges=false']", "root"},
            {"{'HostConfig':{'Binds':['/home/a:/w']}}", &ctx_no_force, NULL, NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *body = inspect_and_rewrite(cases[i].body, cases[i].ctx);
                json_t *hc = json_object_get(body, "HostConfig");
                json_t *so = json_object_get(hc, "SecurityOpt");
                const char *user = json_string_value(json_object_get(body, "User"));

                if (!cases[i].security_opt) {
                        if (so)
                                fail_msg("case %zu: SecurityOpt added", i);
                } else
                        assert_json(so, cases[i].security_opt);
                if (!cases[i].user)
                        assert_null(user);
                else
                        assert_string_equal(user, cases[i].user);
                json_decref(body);
        }
}

static void test_inspect_group_add(void **state)
{
        expect_inspect("{'HostConfig':{'GroupAdd':['docker']}}", -EPERM,
                       "ds01: --group-add is not allowed");
        expect_inspect("{'HostConfig':{'GroupAdd':['0','users']}}", -EPERM, "--group-add");
        expect_inspect("{'HostConfig':{'GroupAdd':[]}}", 0, NULL);
        expect_inspect("{'HostConfig':{'GroupAdd':null}}", 0, NULL);
        expect_inspect("{'HostConfig':{'GroupAdd':'docker'}}", -EINVAL,
                       "HostConfig.GroupAdd must be a list");
        expect_inspect("{'HostConfig':{'groupadd':['docker']}}", -EINVAL, "'GroupAdd'");
}

/* VolumesFrom: listed apart for the engine; inherited binds force the user. */
static void test_volumes_from_inherited(void **state)
{
        struct create_request req;
        struct create_context ctx;
        char reason[POLICY_REASON_MAX], buf[1024];
        json_t *body;

        body = jparse("{'HostConfig':{'VolumesFrom':['c1:ro','c2','c1:rw'],'Links':['c3:x'],"
                      "'NetworkMode':'container:c2'}}");
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), 0);
        join(buf, sizeof(buf), req.volumes_from, req.n_volumes_from);
        assert_string_equal(buf, "c1|c2");
        join(buf, sizeof(buf), req.containers, req.n_containers);
        assert_string_equal(buf, "c2|c1|c3");
        create_request_release(&req);
        assert_int_equal(req.n_volumes_from, 0);
        json_decref(body);

        body = jparse("{'HostConfig':{'Links':['c3:x']}}");
        assert_int_equal(create_inspect(body, NULL, &req, reason, sizeof(reason)), 0);
        assert_int_equal(req.n_volumes_from, 0);
        create_request_release(&req);
        json_decref(body);

        ctx = ctx_plain;
        ctx.inherits_binds = true;
        body = inspect_and_rewrite("{'User':'root','HostConfig':{'VolumesFrom':['c1']}}", &ctx);
        assert_json(body, "{'User':'1001:1001','Labels':{" LABELS_PLAIN "},'HostConfig':{"
                          "'VolumesFrom':['c1'],'CgroupParent':'ds01-students-alice.slice',"
                          "'SecurityOpt':['no-new-privileges']},"
                          "'Env':['NVIDIA_VISIBLE_DEVICES=void']}");
        json_decref(body);

        /* without force_user, inheriting changes nothing */
        ctx = ctx_no_force;
        ctx.inherits_binds = true;
        body = inspect_and_rewrite("{'User':'root','HostConfig':{'VolumesFrom':['c1']}}", &ctx);
        assert_string_equal(json_string_value(json_object_get(body, "User")), "root");
        assert_null(json_object_get(json_object_get(body, "HostConfig"), "SecurityOpt"));
        json_decref(body);
}

/* Docker up to 26 reads HostConfig fields at the top level of the body (all
 * of them when there is no HostConfig): refused when set, removed always. */
static void test_top_level_host_fields(void **state)
{
        static const char *const denied[] = {
            "{'Privileged':true}",
            "{'Binds':['/:/host']}",
            "{'Binds':['/:/host'],'HostConfig':null}",
            "{'CapAdd':['SYS_ADMIN']}",
            "{'GroupAdd':['0']}",
            "{'Memory':1}",
            "{'Memory':1,'HostConfig':{}}",
            "{'MemorySwap':-1,'HostConfig':{'Memory':1}}",
            "{'memory':68719476736,'HostConfig':{}}",
            "{'KernelMemory':1}",
            "{'CpuShares':1024}",
            "{'CpusetCpus':'0-3'}",
            "{'Cpuset':'0-3','HostConfig':{}}",
            "{'cpuset':'0'}",
            "{'VolumeDriver':'flocker','HostConfig':{}}",
            "{'VOLUMEDRIVER':'flocker'}",
            "{'Dns':['8.8.8.8']}",
            "{'LogConfig':{'Type':'syslog'}}",
            "{'NetworkMode':'host'}",
            "{'Memory':1.5}",
            "{'Privileged':'yes'}",
            "{'\\u017fecurityOpt':['label=disable']}",
            "{'\\u212aernelMemory':1}",
        };

        for (size_t i = 0; i < ELEMENTSOF(denied); i++)
                expect_inspect(denied[i], -EINVAL, "HostConfig");

        /* unset values (what old clients send) are fine, and removed */
        {
                struct create_context ctx = ctx_no_cgroup;
                json_t *body = inspect_and_rewrite(
                    "{'Image':'x','Memory':0,'memory':0,'MemorySwap':0,'CpuShares':0,"
                    "'CpusetCpus':'','Cpuset':'','VolumeDriver':'local','Privileged':false,"
                    "'Binds':null,'Dns':[],'LogConfig':{},'HostConfig':{'Memory':5}}",
                    &ctx);

                assert_json(body, "{'Image':'x','Labels':{'ds01.user':'alice','ds01.managed':"
                                  "'true','ds01.container_type':'docker','ds01.interface':"
                                  "'docker'},'HostConfig':{'Memory':5},"
                                  "'Env':['NVIDIA_VISIBLE_DEVICES=void']}");
                json_decref(body);
        }

        /* a body that skipped inspect (monitoring mode): removed whatever the value */
        {
                struct create_request req = {.type = "docker", .interface = "docker"};
                json_t *body = jparse("{'Privileged':true,'Binds':['/:/host'],'Memory':-1,"
                                      "'CPUSHARES':262144,'Cpuset':'0','VolumeDriver':'x',"
                                      "'Cmd':['sh'],'User':'root','Hostname':'h'}");

                assert_int_equal(create_rewrite(body, &req, &limits_full, &ctx_no_cgroup), 0);
                assert_json(body, "{'Cmd':['sh'],'User':'root','Hostname':'h','Labels':{"
                                  "'ds01.user':'alice','ds01.managed':'true','ds01.container_type':"
                                  "'docker','ds01.interface':'docker'},'HostConfig':{" LIMITS_CAPPED
                                  "},'Env':['NVIDIA_VISIBLE_DEVICES=void']}");
                json_decref(body);
        }
}

static void test_inspect_log_config(void **state)
{
        static const char *const drivers[] = {"syslog",  "gelf",       "fluentd",  "awslogs",
                                              "splunk",  "Json-File",  "local ",   "etwlogs",
                                              "gcplogs", "logentries", "my/plugin"};
        char body[256];

        for (size_t i = 0; i < ELEMENTSOF(drivers); i++) {
                snprintf(body, sizeof(body), "{'HostConfig':{'LogConfig':{'Type':'%s'}}}",
                         drivers[i]);
                expect_inspect(body, -EPERM, "log driver");
        }
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'journald'}}}", 0, NULL);
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'none','Config':{}}}}", 0, NULL);
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'json-file','Config':{'max-size':"
                       "'10m','max-file':'3','compress':'true','mode':'non-blocking'}}}}",
                       0, NULL);
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'local','Config':{'max-size':'1m'}}}}",
                       0, NULL);
        expect_inspect("{'HostConfig':{'LogConfig':{'Config':{'max-file':'2'}}}}", 0, NULL);
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'json-file','Config':"
                       "{'syslog-address':'tcp://10.0.0.1:514'}}}}",
                       -EPERM, "log option 'syslog-address'");
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'json-file','Config':"
                       "{'max-size':'1m','max-buffer-size':'100g'}}}}",
                       -EPERM, "log option 'max-buffer-size'");
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'journald','Config':{'tag':'x'}}}}",
                       -EPERM, "log options");
        expect_inspect(
            "{'HostConfig':{'LogConfig':{'Type':'journald','Config':{'max-size':'1m'}}}}", -EPERM,
            "log options");
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'json-file','Config':{'max-size':5}}}}",
                       -EINVAL, "strings");
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'json-file','Config':'max-size=1m'}}}",
                       -EINVAL, "LogConfig.Config must be an object");
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':5}}}", -EINVAL,
                       "LogConfig.Type must be a string");
        expect_inspect("{'HostConfig':{'LogConfig':{'Type':'json-file','config':{}}}}", -EINVAL,
                       "'Config'");
}

/* SELinux: label=type:spc_t runs unconfined, label=level picks another
 * container's MCS categories; no label option is allowed. */
static void test_inspect_selinux_label(void **state)
{
        static const char *const opts[] = {
            "label=type:spc_t",
            "label:type:spc_t",
            "label=type:unconfined_t",
            "label=level:s0:c1,c2",
            "label:level:s0",
            "label=user:system_u",
            "label=role:system_r",
            "label=filetype:x",
            "label=disable",
            "label:disable",
            "label=nested",
            "label=",
            "disable",
        };
        char body[256];

        for (size_t i = 0; i < ELEMENTSOF(opts); i++) {
                snprintf(body, sizeof(body), "{'HostConfig':{'SecurityOpt':['%s']}}", opts[i]);
                expect_inspect(body, -EPERM, "is not allowed");
        }
        expect_inspect("{'HostConfig':{'SecurityOpt':['label=type:spc_t']}}", -EPERM,
                       "label=type:spc_t");
}

/* ---- exec ---- */

static void test_exec(void **state)
{
        static const struct {
                const char *body, *container_user;
                bool has_binds;
                int r;
                const char *reason;
        } cases[] = {
            {"{'Cmd':['sh'],'AttachStdout':true}", "", false, 0, NULL},
            {"{'Cmd':['sh'],'User':'root'}", "", false, 0, NULL},
            {"{'Privileged':false}", "", true, 0, NULL},
            {"{'Privileged':true}", "", false, -EPERM,
             "ds01: exec --privileged is not allowed; run it without"},
            {"{'User':'root'}", "1001:1001", true, -EPERM,
             "ds01: exec as user 'root' is not allowed in a container with host folders "
             "mounted; leave out --user"},
            {"{'User':'0:0'}", "", true, -EPERM, "exec as user '0:0'"},
            {"{'User':'1001'}", "1001:1001", true, -EPERM, "exec as user '1001'"},
            {"{'User':'1001:1001'}", "1001:1001", true, 0, NULL},
            {"{'User':''}", "1001:1001", true, 0, NULL},
            {"{'User':null}", "1001:1001", true, 0, NULL},
            {"{}", NULL, true, 0, NULL},
            {"{'User':'root'}", NULL, true, -EPERM, "exec as user 'root'"},
            {"{'privileged':true}", "", false, -EINVAL, "'Privileged'"},
            {"{'Privileged':'true'}", "", false, -EINVAL, "Privileged must be true or false"},
            {"{'User':5}", "", false, -EINVAL, "User must be a string"},
            {"{'Env':[5]}", "", false, -EINVAL, "Env must hold strings"},
            {"[]", "", false, -EINVAL, "JSON object"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char reason[POLICY_REASON_MAX] = "";
                json_t *body = jparse(cases[i].body);
                int r = exec_inspect(body, cases[i].container_user, cases[i].has_binds, reason,
                                     sizeof(reason));

                if (r != cases[i].r)
                        fail_msg("exec case %zu %s: %d, expected %d (%s)", i, cases[i].body, r,
                                 cases[i].r, reason);
                if (r < 0) {
                        assert_reason_shape(reason);
                        if (!cases[i].reason || !strstr(reason, cases[i].reason))
                                fail_msg("exec case %zu: '%s' lacks '%s'", i, reason,
                                         cases[i].reason);
                }
                json_decref(body);
        }
}

/* ---- update ---- */

static void test_update(void **state)
{
        static const struct create_limits l = {
            .max_cpus = 4,
            .memory = 8 * GIB,
            .memory_swap = 16 * GIB,
            .pids_limit = 1000,
        };
        static const struct {
                const char *body;
                const struct create_limits *l;
                int r;
                const char *reason;
        } cases[] = {
            {"{}", &l, 0, NULL},
            {"{'RestartPolicy':{'Name':'always'},'CpuShares':512,'CpusetCpus':'0-3'}", &l, 0, NULL},
            {"{'NanoCpus':0,'Memory':0,'MemorySwap':0,'PidsLimit':null,'CpuQuota':0}", &l, 0, NULL},
            {"{'NanoCpus':4000000000}", &l, 0, NULL},
            {"{'NanoCpus':4000000001}", &l, -EPERM,
             "ds01: --cpus 4.000000001 is above your limit of 4; use --cpus 4 or less"},
            {"{'NanoCpus':-1}", &l, -EPERM, "removing the CPU limit"},
            {"{'CpuQuota':400000,'CpuPeriod':100000}", &l, 0, NULL},
            {"{'CpuQuota':400001}", &l, -EPERM, "CPU quota is above your limit"},
            {"{'CpuQuota':100000,'CpuPeriod':10000}", &l, -EPERM, "CPU quota is above"},
            {"{'CpuQuota':-1}", &l, -EPERM, "removing the CPU quota"},
            {"{'CpuPeriod':1000}", &l, -EPERM, "--cpu-period alone"},
            {"{'Memory':8589934592,'MemorySwap':17179869184}", &l, 0, NULL},
            {"{'Memory':8589934593}", &l, -EPERM,
             "--memory 8589934593 is above your limit of 8589934592 bytes"},
            {"{'Memory':-1}", &l, -EPERM, "removing the memory limit"},
            {"{'MemorySwap':-1}", &l, -EPERM, "unlimited swap"},
            {"{'MemorySwap':17179869185}", &l, -EPERM, "--memory-swap 17179869185 is above"},
            {"{'PidsLimit':1000}", &l, 0, NULL},
            {"{'PidsLimit':1001}", &l, -EPERM, "--pids-limit 1001 is above your limit of 1000"},
            {"{'PidsLimit':0}", &l, -EPERM, "removing the process limit"},
            {"{'PidsLimit':-1}", &l, -EPERM, "removing the process limit"},
            {"{'KernelMemory':1073741824}", &l, -EPERM, "kernel memory"},
            {"{'DeviceRequests':[]}", &l, -EPERM, "changing DeviceRequests"},
            {"{'Devices':[{'PathOnHost':'/dev/sda'}]}", &l, -EPERM, "changing Devices"},
            {"{'DeviceCgroupRules':['a *:* rwm']}", &l, -EPERM, "changing DeviceCgroupRules"},
            {"{'CgroupParent':'/'}", &l, -EPERM, "cgroup parent"},
            /* no caps: anything but the always-denied fields */
            {"{'NanoCpus':64000000000,'Memory':-1,'MemorySwap':-1,'PidsLimit':0,"
             "'CpuQuota':-1}",
             &limits_none, 0, NULL},
            {"{'CgroupParent':'x'}", &limits_none, -EPERM, "cgroup parent"},
            {"{'memory':1}", &l, -EINVAL, "'Memory'"},
            {"{'Memory':'1g'}", &l, -EINVAL, "Memory must be an integer"},
            {"{'PidsLimit':1.5}", &l, -EINVAL, "PidsLimit must be an integer"},
            {"5", &l, -EINVAL, "JSON object"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char reason[POLICY_REASON_MAX] = "";
                json_t *body = jparse(cases[i].body);
                int r = update_inspect(body, cases[i].l, reason, sizeof(reason));

                if (r != cases[i].r)
                        fail_msg("update case %zu %s: %d, expected %d (%s)", i, cases[i].body, r,
                                 cases[i].r, reason);
                if (r < 0) {
                        assert_reason_shape(reason);
                        if (!cases[i].reason || !strstr(reason, cases[i].reason))
                                fail_msg("update case %zu: '%s' lacks '%s'", i, reason,
                                         cases[i].reason);
                }
                json_decref(body);
        }
}

/* ---- volumes and networks ---- */

typedef int (*body_rewrite_fn)(json_t *body, const char *user, char *reason, size_t reason_size);

struct body_case {
        const char *body;
        int r;
        const char *reason; /* r < 0 */
        const char *expect; /* r == 0 */
};

static void run_body_cases(const char *what, body_rewrite_fn fn, const struct body_case *cases,
                           size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char reason[POLICY_REASON_MAX] = "";
                json_t *body = jparse(cases[i].body);
                char *before = json_dumps(body, JSON_SORT_KEYS | JSON_ENCODE_ANY);
                int r = fn(body, "alice", reason, sizeof(reason));

                if (r != cases[i].r)
                        fail_msg("%s case %zu %s: %d, expected %d (%s)", what, i, cases[i].body, r,
                                 cases[i].r, reason);
                if (r < 0) {
                        char *after = json_dumps(body, JSON_SORT_KEYS | JSON_ENCODE_ANY);

                        assert_reason_shape(reason);
                        if (!cases[i].reason || !strstr(reason, cases[i].reason))
                                fail_msg("%s case %zu: '%s' lacks '%s'", what, i, reason,
                                         cases[i].reason);
                        assert_string_equal(before, after); /* refused: unchanged */
                        free(after);
                } else {
                        json_t *expect = jparse(cases[i].expect);

                        if (!json_equal(body, expect)) {
                                char *got = json_dumps(body, JSON_SORT_KEYS);

                                fail_msg("%s case %zu: got %s", what, i, got);
                        }
                        json_decref(expect);
                }
                free(before);
                json_decref(body);
        }
}

static void test_volume_create(void **state)
{
        static const struct body_case cases[] = {
            {"{}", 0, NULL, "{'Labels':{'ds01.user':'alice'}}"},
            {"{'Name':'data','Driver':'local','Labels':null}", 0, NULL,
             "{'Name':'data','Driver':'local','Labels':{'ds01.user':'alice'}}"},
            {"{'Name':'d','Driver':'','DriverOpts':{'type':'tmpfs','o':'size=100m,uid=1000'},"
             "'Labels':{'a':'b'}}",
             0, NULL,
             "{'Name':'d','Driver':'','DriverOpts':{'type':'tmpfs','o':'size=100m,uid=1000'},"
             "'Labels':{'a':'b','ds01.user':'alice'}}"},
            {"{'DriverOpts':{'o':'nobinding'}}", 0, NULL,
             "{'DriverOpts':{'o':'nobinding'},'Labels':{'ds01.user':'alice'}}"},
            {"{'Driver':'sshfs'}", -EPERM, "volume driver 'sshfs' is not allowed", NULL},
            {"{'DriverOpts':{'type':'none','o':'bind','device':'/etc'}}", -EPERM, "-o bind", NULL},
            {"{'DriverOpts':{'o':'ro,rbind'}}", -EPERM, "-o bind", NULL},
            {"{'DriverOpts':{'device':'/dev/sda1'}}", -EPERM, "with a device", NULL},
            {"{'DriverOpts':{'type':'none'}}", -EPERM, "type 'none'", NULL},
            {"{'DriverOpts':{'type':'bind'}}", -EPERM, "type 'bind'", NULL},
            {"{'Labels':{'ds01.user':'bob'}}", -EPERM, "label ds01.user is set by ds01", NULL},
            {"{'ClusterVolumeSpec':{}}", -EPERM, "cluster volumes", NULL},
            {"{'driveropts':{'device':'/etc'}}", -EINVAL, "'DriverOpts'", NULL},
            {"{'DriverOpts':{'o':5}}", -EINVAL, "DriverOpts must map", NULL},
            {"{'Labels':'x'}", -EINVAL, "Labels must be an object", NULL},
            {"[]", -EINVAL, "JSON object", NULL},
        };

        run_body_cases("volume", volume_create_rewrite, cases, ELEMENTSOF(cases));
}

static void test_network_create(void **state)
{
        static const struct body_case cases[] = {
            {"{'Name':'n'}", 0, NULL, "{'Name':'n','Labels':{'ds01.user':'alice'}}"},
            {"{'Name':'n','Driver':'bridge','Internal':false,'Attachable':true,'Scope':'local',"
             "'IPAM':{'Driver':'default','Config':[{'Subnet':'10.99.0.0/24'}]},"
             "'Options':{'com.docker.network.driver.mtu':'1400'},'Labels':{'x':'y'}}",
             0, NULL,
             "{'Name':'n','Driver':'bridge','Internal':false,'Attachable':true,'Scope':'local',"
             "'IPAM':{'Driver':'default','Config':[{'Subnet':'10.99.0.0/24'}]},"
             "'Options':{'com.docker.network.driver.mtu':'1400'},"
             "'Labels':{'x':'y','ds01.user':'alice'}}"},
            {"{'Driver':'host'}", -EPERM, "network driver 'host'", NULL},
            {"{'Driver':'macvlan'}", -EPERM, "network driver 'macvlan'", NULL},
            {"{'Driver':'overlay'}", -EPERM, "network driver 'overlay'", NULL},
            {"{'Scope':'swarm'}", -EPERM, "scope 'swarm'", NULL},
            {"{'Ingress':true}", -EPERM, "ingress", NULL},
            {"{'ConfigOnly':true}", -EPERM, "config-only", NULL},
            {"{'ConfigFrom':{'Network':'x'}}", -EPERM, "--config-from", NULL},
            {"{'Options':{'com.docker.network.bridge.name':'docker0'}}", -EPERM,
             "network option 'com.docker.network.bridge.name'", NULL},
            {"{'Options':{'com.docker.network.bridge.enable_ip_masquerade':'false'}}", -EPERM,
             "enable_ip_masquerade", NULL},
            {"{'IPAM':{'Driver':'infoblox'}}", -EPERM, "IPAM driver 'infoblox'", NULL},
            {"{'Labels':{'ds01.user':'bob'}}", -EPERM, "label ds01.user", NULL},
            {"{'driver':'host'}", -EINVAL, "'Driver'", NULL},
            {"{'IPAM':{'driver':'x'}}", -EINVAL, "'Driver'", NULL},
            {"{'Ingress':'yes'}", -EINVAL, "Ingress must be true or false", NULL},
            {"{'Options':{'a':1}}", -EINVAL, "Options must map", NULL},
        };

        run_body_cases("network", network_create_rewrite, cases, ELEMENTSOF(cases));
}

/* ---- bind paths ---- */

static char tree[256]; /* resolved temp folder */

static void mk(const char *rel)
{
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/%s", tree, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void ln(const char *target, const char *rel)
{
        char p[PATH_MAX];

        snprintf(p, sizeof(p), "%s/%s", tree, rel);
        assert_int_equal(symlink(target, p), 0);
}

static int tree_setup(void **state)
{
        char tmpl[] = "/tmp/ds01-rewrite-XXXXXX", *real, deep[PATH_MAX];

        if (!mkdtemp(tmpl))
                return -1;
        real = realpath(tmpl, NULL);
        if (!real)
                return -1;
        snprintf(tree, sizeof(tree), "%s", real);
        free(real);
        mk("home");
        mk("home/alice");
        mk("home/alicex");
        mk("home/bob");
        mk("home/alice/proj");
        mk("home/alice/a");
        mk("home/alice/a/b");
        mk("home/alice/a/b/c");
        ln("/etc", "home/alice/etc-link");
        snprintf(deep, sizeof(deep), "%s/home/alice/a/b/c", tree);
        ln(deep, "home/alice/deep");
        ln("proj", "home/alice/rel");
        ln("../bob", "home/alice/tobob");
        ln("/nonexistent-ds01-test/x", "home/alice/dangling");
        {
                char f[PATH_MAX];
                FILE *fp;

                snprintf(f, sizeof(f), "%s/home/alice/file", tree);
                fp = fopen(f, "we");
                if (!fp)
                        return -1;
                fclose(fp);
        }
        ln("loop2", "home/alice/loop1");
        ln("loop1", "home/alice/loop2");
        return 0;
}

static int tree_teardown(void **state)
{
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_bind_resolve(void **state)
{
        static const struct {
                const char *in; /* "@" = the temp folder */
                int r;
                const char *out; /* "@" = the temp folder; "" = as in */
        } cases[] = {
            {"@/home/alice/proj", 0, "@/home/alice/proj"},
            {"@/home/alice/proj/", 0, "@/home/alice/proj"},
            {"@//home/alice/./proj//.", 0, "@/home/alice/proj"},
            {"@/home/alice/etc-link", 0, "/etc"},
            {"@/home/alice/etc-link/passwd", 0, "/etc/passwd"},
            {"@/home/alice/etc-link/ds01-none/x", 0, "/etc/ds01-none/x"},
            {"@/home/alice/rel", 0, "@/home/alice/proj"},
            {"@/home/alice/tobob", 0, "@/home/bob"},
            {"@/home/alice/new", 0, "@/home/alice/new"},
            {"@/home/alice/new/sub/dir/", 0, "@/home/alice/new/sub/dir"},
            {"@/home/alice/new/./sub", 0, "@/home/alice/new/sub"},
            /* ".." in the part that is not there */
            {"@/home/alice/new/../x", -EINVAL, NULL},
            {"@/home/alice/new/../../../../etc", -EINVAL, NULL},
            /* ".." over real folders: the kernel's and Docker's reading agree */
            {"@/home/alice/proj/../proj", 0, "@/home/alice/proj"},
            {"@/home/alice/proj/../x", 0, "@/home/alice/x"},
            {"@/home/alice/rel/../proj", 0, "@/home/alice/proj"},
            {"@/home/alice/a/b/../../proj", 0, "@/home/alice/proj"},
            /* ... and where they differ: refused */
            {"@/home/alice/deep/../../../bob", -EINVAL, NULL},
            {"@/home/alice/etc-link/..", -EINVAL, NULL},
            {"@/home/alice/etc-link/../home", -EINVAL, NULL},
            {"@/home/alice/tobob/../alice", -EINVAL, NULL},
            /* links that lead nowhere */
            {"@/home/alice/dangling", -ENOENT, NULL},
            {"@/home/alice/dangling/sub", -ENOENT, NULL},
            {"@/home/alice/loop1", -ELOOP, NULL},
            {"@/home/alice/loop1/x", -ELOOP, NULL},
            /* a file used as a folder */
            {"@/home/alice/file", 0, "@/home/alice/file"},
            {"@/home/alice/file/x", -ENOTDIR, NULL},
            {"/", 0, "/"},
            {"/..", 0, "/"},
            {"/../../etc", 0, "/etc"},
            {"home/alice", -EINVAL, NULL},
            {"./x", -EINVAL, NULL},
            {"", -EINVAL, NULL},
        };
        char in[PATH_MAX], want[PATH_MAX], out[REWRITE_PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r;

                if (cases[i].in[0] == '@')
                        snprintf(in, sizeof(in), "%s%s", tree, cases[i].in + 1);
                else
                        snprintf(in, sizeof(in), "%s", cases[i].in);
                snprintf(out, sizeof(out), "untouched");
                r = bind_path_resolve(in, out, sizeof(out));
                if (r != cases[i].r)
                        fail_msg("resolve %s: %d, expected %d", in, r, cases[i].r);
                if (r < 0) {
                        assert_string_equal(out, "untouched");
                        continue;
                }
                if (cases[i].out[0] == '@')
                        snprintf(want, sizeof(want), "%s%s", tree, cases[i].out + 1);
                else
                        snprintf(want, sizeof(want), "%s", cases[i].out);
                assert_string_equal(out, want);
        }

        /* NULL, too long, no room */
        assert_int_equal(bind_path_resolve(NULL, out, sizeof(out)), -EINVAL);
        {
                char *lng = malloc(REWRITE_PATH_MAX + 10);

                assert_non_null(lng);
                lng[0] = '/';
                memset(lng + 1, 'a', REWRITE_PATH_MAX + 8);
                lng[REWRITE_PATH_MAX + 9] = 0;
                assert_int_equal(bind_path_resolve(lng, out, sizeof(out)), -EINVAL);
                lng[REWRITE_PATH_MAX] = 0; /* exactly the limit: still too long */
                assert_int_equal(bind_path_resolve(lng, out, sizeof(out)), -EINVAL);
                free(lng);
        }
        snprintf(in, sizeof(in), "%s/home/alice/proj", tree);
        assert_int_equal(bind_path_resolve(in, out, strlen(in)), -EINVAL);
        assert_int_equal(bind_path_resolve(in, out, strlen(in) + 1), 0);
        assert_string_equal(out, in);
}

/* Resolve, then check against the caller's resolved home: what the engine does. */
static void test_bind_resolve_then_allowed(void **state)
{
        static const struct {
                const char *rel;
                bool allowed;
        } cases[] = {
            {"/home/alice", true},
            {"/home/alice/proj", true},
            {"/home/alice/rel", true},
            {"/home/alice/new/sub", true},
            {"/home/alice/a/b/../../proj", true},
            {"/home/alice/etc-link", false},
            {"/home/alice/etc-link/passwd", false},
            {"/home/alice/tobob", false},
            {"/home/alicex", false},
            {"/home/alice/..", false},
            {"/home", false},
        };
        char root[PATH_MAX], in[PATH_MAX], out[REWRITE_PATH_MAX];
        char *roots[] = {root};

        snprintf(root, sizeof(root), "%s/home/alice", tree);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                snprintf(in, sizeof(in), "%s%s", tree, cases[i].rel);
                assert_int_equal(bind_path_resolve(in, out, sizeof(out)), 0);
                if (bind_path_allowed(out, roots, 1) != cases[i].allowed)
                        fail_msg("%s -> %s: allowed should be %d", in, out, cases[i].allowed);
        }
}

static void test_bind_allowed(void **state)
{
        char *alice[] = {"/home/alice"};
        char *slash_roots[] = {"/", "//", "/.", "/home/.."};
        char *trailing[] = {"/home/alice/"};
        char *several[] = {NULL, "relative", "/data/alice", "/home/alice"};
        char *wide[] = {"/var", "/srv"};
        char *short_root[] = {"/home/al"};
        char *denied_roots[] = {"/proc", "/sys", "/dev", "/run", "/var/run"};

        assert_true(bind_path_allowed("/home/alice", alice, 1));
        assert_true(bind_path_allowed("/home/alice/x/y", alice, 1));
        assert_false(bind_path_allowed("/home/alicex", alice, 1));
        assert_false(bind_path_allowed("/home/alice.bak/x", alice, 1));
        assert_false(bind_path_allowed("/home/al", alice, 1));
        assert_false(bind_path_allowed("/home", alice, 1));
        assert_false(bind_path_allowed("/home/alice", short_root, 1));
        assert_true(bind_path_allowed("/home/al/x", short_root, 1));
        assert_true(bind_path_allowed("/home/alice/x", trailing, 1));
        assert_true(bind_path_allowed("/home/alice", trailing, 1));
        assert_false(bind_path_allowed("/home/alicex", trailing, 1));
        /* "/" is never a root */
        assert_false(bind_path_allowed("/etc", slash_roots, ELEMENTSOF(slash_roots)));
        assert_false(bind_path_allowed("/home/alice", slash_roots, ELEMENTSOF(slash_roots)));
        assert_false(bind_path_allowed("/", slash_roots, ELEMENTSOF(slash_roots)));
        /* only normal paths */
        assert_false(bind_path_allowed("/home/alice/../bob", alice, 1));
        assert_false(bind_path_allowed("/home/alice/./x", alice, 1));
        assert_false(bind_path_allowed("/home/alice//x", alice, 1));
        assert_false(bind_path_allowed("/home/alice/", alice, 1));
        assert_false(bind_path_allowed("home/alice", alice, 1));
        assert_false(bind_path_allowed("", alice, 1));
        assert_false(bind_path_allowed(NULL, alice, 1));
        /* never these, whatever the roots */
        assert_false(bind_path_allowed("/var/run/docker.sock", wide, 2));
        assert_false(bind_path_allowed("/var/run", wide, 2));
        assert_true(bind_path_allowed("/var/runx", wide, 2));
        assert_true(bind_path_allowed("/var/lib/x", wide, 2));
        assert_false(bind_path_allowed("/proc/1/root", denied_roots, 5));
        assert_false(bind_path_allowed("/proc", denied_roots, 5));
        assert_false(bind_path_allowed("/sys/fs/cgroup", denied_roots, 5));
        assert_false(bind_path_allowed("/dev/nvidia0", denied_roots, 5));
        assert_false(bind_path_allowed("/run/docker.sock", denied_roots, 5));
        assert_false(bind_path_allowed("/run/ds01/docker.sock", denied_roots, 5));
        /* several roots, bad ones skipped */
        assert_true(bind_path_allowed("/home/alice/p", several, 4));
        assert_true(bind_path_allowed("/data/alice", several, 4));
        assert_false(bind_path_allowed("/data/bob", several, 4));
        assert_false(bind_path_allowed("/home/alice", NULL, 0));
        assert_false(bind_path_allowed("/home/alice", alice, 0));
}

static void test_bind_root_expand(void **state)
{
        static const struct {
                const char *root, *user, *home;
                int r;
                const char *out;
        } cases[] = {
            {"~", "alice", "/home/alice", 0, "/home/alice"},
            {"~/", "alice", "/home/alice", 0, "/home/alice/"},
            {"~/data", "alice", "/home/alice", 0, "/home/alice/data"},
            {"~/data", "alice", "/home/alice/", 0, "/home/alice/data"},
            {"/data/{user}", "alice", "", 0, "/data/alice"},
            {"/scratch/{user}/{user}-x", "h_baker", NULL, 0, "/scratch/h_baker/h_baker-x"},
            {"~/{user}", "bob", "/srv/home/bob", 0, "/srv/home/bob/bob"},
            {"/data/{usr}", "alice", NULL, 0, "/data/{usr}"},
            {"/data", NULL, NULL, 0, "/data"},
            {"~", "alice", "", -EINVAL, NULL},
            {"~/x", "alice", NULL, -EINVAL, NULL},
            {"~", "alice", "relative", -EINVAL, NULL},
            {"~bob/x", "alice", "/home/alice", -EINVAL, NULL},
            {"data/{user}", "alice", "/home/alice", -EINVAL, NULL},
            {"", "alice", "/home/alice", -EINVAL, NULL},
            {NULL, "alice", "/home/alice", -EINVAL, NULL},
            {"/data/{user}", "", "/h", -EINVAL, NULL},
            {"/data/{user}", NULL, "/h", -EINVAL, NULL},
            {"/data/{user}", "a/b", "/h", -EINVAL, NULL},
            {"/data/{user}", "..", "/h", -EINVAL, NULL},
        };
        char out[REWRITE_PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r;

                snprintf(out, sizeof(out), "untouched");
                r = bind_root_expand(cases[i].root, cases[i].user, cases[i].home, out, sizeof(out));
                if (r != cases[i].r)
                        fail_msg("expand %s: %d, expected %d", cases[i].root, r, cases[i].r);
                assert_string_equal(out, r < 0 ? "untouched" : cases[i].out);
        }
        /* too long for out, for the internal buffer */
        snprintf(out, sizeof(out), "untouched");
        assert_int_equal(bind_root_expand("/data/{user}", "alice", NULL, out, 11), -ENAMETOOLONG);
        assert_string_equal(out, "untouched");
        assert_int_equal(bind_root_expand("/data/{user}", "alice", NULL, out, 12), 0);
        assert_string_equal(out, "/data/alice");
        {
                char *user = malloc(3000);

                assert_non_null(user);
                memset(user, 'u', 2999);
                user[2999] = 0;
                assert_int_equal(bind_root_expand("/{user}/{user}", user, NULL, out, sizeof(out)),
                                 -ENAMETOOLONG);
                free(user);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_inspect_table),
            cmocka_unit_test(test_inspect_limits),
            cmocka_unit_test(test_rewrite_table),
            cmocka_unit_test(test_rewrite_odd_bodies),
            cmocka_unit_test(test_rewrite_no_new_privileges),
            cmocka_unit_test(test_inspect_group_add),
            cmocka_unit_test(test_volumes_from_inherited),
            cmocka_unit_test(test_top_level_host_fields),
            cmocka_unit_test(test_inspect_log_config),
            cmocka_unit_test(test_inspect_selinux_label),
            cmocka_unit_test(test_exec),
            cmocka_unit_test(test_update),
            cmocka_unit_test(test_volume_create),
            cmocka_unit_test(test_network_create),
            cmocka_unit_test_setup_teardown(test_bind_resolve, tree_setup, tree_teardown),
            cmocka_unit_test_setup_teardown(test_bind_resolve_then_allowed, tree_setup,
                                            tree_teardown),
            cmocka_unit_test(test_bind_allowed),
            cmocka_unit_test(test_bind_root_expand),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
