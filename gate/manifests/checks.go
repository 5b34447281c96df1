package manifests

import "github.com/secgate/secgate/policy"

// Check ids. Each names the Pod Security Standards rule it implements
// (kubernetes.io/docs/concepts/security/pod-security-standards), or the
// practice it follows where PSS has none.
const (
	CheckPrivileged     = "manifest-privileged"           // PSS baseline: Privileged Containers
	CheckDockerSocket   = "manifest-docker-socket"        // PSS baseline: HostPath Volumes (the engine's socket)
	CheckHostPathRoot   = "manifest-host-path-sensitive"  // PSS baseline: HostPath Volumes (/, /proc, /sys, /etc, runtime sockets)
	CheckCapSysAdmin    = "manifest-cap-sys-admin"        // PSS baseline: Capabilities (SYS_ADMIN, ALL)
	CheckRoot           = "manifest-runs-as-root"         // PSS restricted: Running as Non-root (user)
	CheckEscalation     = "manifest-privilege-escalation" // PSS restricted: Privilege Escalation
	CheckHostNamespaces = "manifest-host-namespaces"      // PSS baseline: Host Namespaces
	CheckHostPath       = "manifest-host-path"            // PSS baseline: HostPath Volumes (other paths)
	CheckCapabilities   = "manifest-dangerous-capabilities"
	CheckCapsNotDropped = "manifest-capabilities-not-dropped" // PSS restricted: Capabilities (drop ALL)
	CheckSeccomp        = "manifest-seccomp"                  // PSS restricted: Seccomp (baseline: not Unconfined)
	CheckAppArmor       = "manifest-apparmor-unconfined"      // PSS baseline: AppArmor
	CheckReadOnlyRoot   = "manifest-writable-root-fs"         // not in PSS: kube-score, checkov CKV_K8S_22
	CheckLimits         = "manifest-no-resource-limits"       // not in PSS: kube-score container-resources
	CheckImageLatest    = "manifest-image-latest"             // not in PSS: kube-score container-image-tag
	CheckImageDigest    = "manifest-image-no-digest"          // not in PSS: checkov CKV_K8S_43
	CheckServiceAccount = "manifest-service-account-token"    // not in PSS: checkov CKV_K8S_38
	CheckDuplicateKey   = "manifest-duplicate-key"            // not in PSS: a key that readers read differently
)

// Checks is the catalogue, with default tiers: privileged, the docker
// socket, host root mounts and SYS_ADMIN high; root, escalation and host
// namespaces medium; the rest low.
var Checks = []policy.Check{
	{ID: CheckPrivileged, Tier: policy.High, Title: "Privileged container (PSS baseline: Privileged Containers)",
		Help: "privileged: true gives the container every capability and the host's devices: it is root on the node. Remove it."},
	{ID: CheckDockerSocket, Tier: policy.High, Title: "The container engine's socket is mounted (PSS baseline: HostPath Volumes)",
		Help: "Whoever reaches /var/run/docker.sock (or containerd's) runs any container on the host, as root. Do not mount it."},
	{ID: CheckHostPathRoot, Tier: policy.High, Title: "A sensitive host path is mounted: /, /proc, /sys, /etc, /root, the runtime's state (PSS baseline: HostPath Volumes)",
		Help: "The host's root, kernel interfaces or configuration inside the container: a container escape by design. Use a volume."},
	{ID: CheckCapSysAdmin, Tier: policy.High, Title: "SYS_ADMIN or ALL capabilities added (PSS baseline: Capabilities)",
		Help: "SYS_ADMIN is most of root's power; ALL is all of it. Add only the capability the process needs, if any."},
	{ID: CheckRoot, Tier: policy.Medium, Title: "The container may run as root (PSS restricted: Running as Non-root)",
		Help: "Without runAsNonRoot: true (or a non-zero runAsUser; in Compose, user: with a non-root id) the image decides, and most run as root."},
	{ID: CheckEscalation, Tier: policy.Medium, Title: "Privilege escalation is allowed (PSS restricted: Privilege Escalation)",
		Help: "Set allowPrivilegeEscalation: false (Compose: security_opt: [no-new-privileges:true]) so that setuid binaries cannot gain privileges."},
	{ID: CheckHostNamespaces, Tier: policy.Medium, Title: "The host's network, PID or IPC namespace is shared (PSS baseline: Host Namespaces)",
		Help: "hostNetwork, hostPID or hostIPC (Compose: network_mode, pid, ipc: host) let the container see and reach the host's processes and interfaces."},
	{ID: CheckHostPath, Tier: policy.Low, Title: "A host path is mounted (PSS baseline: HostPath Volumes)",
		Help: "A hostPath volume ties the pod to a node and exposes its files. Prefer an emptyDir, a ConfigMap or a persistent volume."},
	{ID: CheckCapabilities, Tier: policy.Low, Title: "A dangerous capability is added (NET_ADMIN, NET_RAW, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH…)",
		Help: "Each of these widens what a compromised process can do to the host and its neighbours. Remove it unless the process needs it."},
	{ID: CheckCapsNotDropped, Tier: policy.Low, Title: "Capabilities are not dropped (PSS restricted: Capabilities)",
		Help: "Set capabilities: {drop: [ALL]} (Compose: cap_drop: [ALL]) and add back only what is needed."},
	{ID: CheckSeccomp, Tier: policy.Low, Title: "No seccomp profile, or Unconfined (PSS restricted: Seccomp)",
		Help: "Set seccompProfile: {type: RuntimeDefault} on the pod or the container (Compose: no seccomp:unconfined)."},
	{ID: CheckAppArmor, Tier: policy.Low, Title: "AppArmor unconfined (PSS baseline: AppArmor)",
		Help: "Remove the unconfined AppArmor profile (annotation or appArmorProfile; Compose: apparmor:unconfined)."},
	{ID: CheckReadOnlyRoot, Tier: policy.Low, Title: "The root filesystem is writable",
		Help: "Set readOnlyRootFilesystem: true (Compose: read_only: true) and mount a volume where the process writes."},
	{ID: CheckLimits, Tier: policy.Low, Title: "No memory or CPU limit",
		Help: "Set resources.limits.memory and cpu (Compose: deploy.resources.limits or mem_limit/cpus): one container cannot starve the node."},
	{ID: CheckImageLatest, Tier: policy.Medium, Title: "The image is :latest or has no tag",
		Help: "What runs changes with every push of the tag. Use a version tag, better a digest."},
	{ID: CheckImageDigest, Tier: policy.Low, Title: "The image is not pinned by digest",
		Help: "A tag can be moved to another image; image@sha256:… cannot. Pin the digest the gate checked and signed."},
	{ID: CheckServiceAccount, Tier: policy.Low, Title: "The service account token is mounted",
		Help: "Set automountServiceAccountToken: false on pods that do not call the Kubernetes API: a stolen token is a foothold in the cluster."},
	{ID: CheckDuplicateKey, Tier: policy.High, Title: "A key is written twice in one mapping",
		Help: "kubectl's strict validation rejects the file, Helm, client-go and Argo CD take the last value, other parsers the first: what is reviewed and what runs can differ (privileged: false, privileged: true). Write each key once."},
}
