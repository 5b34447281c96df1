package manifests

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/secgate/secgate/policy"
)

// object checks one Kubernetes object (a List's items too); it reports
// whether it was a workload or a list of them.
func (c *collector) object(rel string, obj ast.Node) bool {
	// Aliases make one node reachable many times (a List of aliases of
	// Lists doubles at each level): each node is checked once per file,
	// which gives the same findings.
	if c.visited[obj] {
		return false
	}
	c.visited[obj] = true
	kind := str(get(obj, "kind"))
	if kind == "List" || strings.HasSuffix(kind, "List") {
		found := false
		for _, it := range items(value(get(obj, "items"))) {
			if isMapping(it) && c.object(rel, it) {
				found = true
			}
		}
		return found
	}
	var tmpl ast.Node
	switch kind {
	case "Pod":
		tmpl = obj
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController":
		tmpl = value(at(obj, "spec", "template"))
	case "CronJob":
		tmpl = value(at(obj, "spec", "jobTemplate", "spec", "template"))
	default:
		return false // ConfigMaps, Services, CRDs: whatever their data says
	}
	spec := value(get(tmpl, "spec"))
	if spec == nil {
		return false
	}
	name := str(at(obj, "metadata", "name"))
	object := kind + "/" + name
	if ns := str(at(obj, "metadata", "namespace")); ns != "" {
		object = kind + "/" + ns + "/" + name
	}
	c.workloads++
	c.pod(rel, object, keyLine(get(obj, "kind")), spec, value(at(tmpl, "metadata", "annotations")))
	return true
}

// pod checks a pod spec: its own settings, then each container with the
// pod's security context as the default.
func (c *collector) pod(rel, object string, objLine int, spec, annotations ast.Node) {
	for _, k := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if kv := get(spec, k); kv != nil {
			if v, _ := boolean(kv); v {
				c.add(CheckHostNamespaces, rel, keyLine(kv), object+" "+k, k+": true",
					"remove "+k+": true from the pod spec")
			}
		}
	}
	if kv := get(spec, "automountServiceAccountToken"); kv == nil {
		c.add(CheckServiceAccount, rel, objLine, object, "automountServiceAccountToken is not set (the token is mounted)",
			"set spec.automountServiceAccountToken: false unless the pod calls the Kubernetes API")
	} else if v, set := boolean(kv); !set || v {
		c.add(CheckServiceAccount, rel, keyLine(kv), object, "automountServiceAccountToken: true",
			"set automountServiceAccountToken: false unless the pod calls the Kubernetes API")
	}
	for _, vol := range items(value(get(spec, "volumes"))) {
		hp := at(vol, "hostPath", "path")
		if hp == nil {
			continue
		}
		vname := str(get(vol, "name"))
		c.hostPath(rel, keyLine(hp), object+" volume "+vname, str(hp), true)
	}
	podSC := value(get(spec, "securityContext"))
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		for _, ctr := range items(value(get(spec, list))) {
			c.container(rel, object, ctr, podSC, annotations, list == "ephemeralContainers")
		}
	}
}

// hostPath classifies a mounted host path: the engine's socket, a
// sensitive tree, or any other path (reported for Kubernetes only:
// Compose bind mounts of project directories are the norm).
func (c *collector) hostPath(rel string, ln int, object, p string, reportOther bool) {
	clean := path.Clean("/" + strings.TrimSpace(p))
	switch {
	case slices.Contains(engineSockets, clean):
		c.add(CheckDockerSocket, rel, ln, object, clean+" is mounted", "do not mount the container engine's socket: whoever reaches it is root on the host")
	case sensitivePath(clean):
		c.add(CheckHostPathRoot, rel, ln, object, "host path "+clean+" is mounted", "mount a volume, not the host's "+clean)
	case reportOther:
		c.add(CheckHostPath, rel, ln, object, "host path "+clean+" is mounted", "use an emptyDir, a ConfigMap or a persistent volume instead of hostPath "+clean)
	}
}

var engineSockets = []string{"/var/run/docker.sock", "/run/docker.sock", "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock", "/run/crio/crio.sock", "/var/run/cri-dockerd.sock"}

func sensitivePath(p string) bool {
	for _, s := range []string{"/proc", "/sys", "/etc", "/root", "/boot", "/dev", "/var/lib/docker", "/var/lib/kubelet", "/var/lib/containerd",
		"/run/containerd", "/var/run/containerd", "/var/run", "/run"} {
		if p == s || strings.HasPrefix(p, s+"/") {
			return true
		}
	}
	return p == "/"
}

// container checks one container; the pod's security context applies
// where the container's does not say.
func (c *collector) container(rel, podObject string, ctr, podSC, annotations ast.Node, ephemeral bool) {
	nameKV := get(ctr, "name")
	cname := str(nameKV)
	object := podObject + " container " + cname
	nl := keyLine(nameKV)
	if nl == 0 {
		nl = line(ctr)
	}
	sc := value(get(ctr, "securityContext"))
	either := func(k string) *ast.MappingValueNode {
		if kv := get(sc, k); kv != nil {
			return kv
		}
		return get(podSC, k)
	}

	privileged := false
	if kv := get(sc, "privileged"); kv != nil {
		if v, _ := boolean(kv); v {
			privileged = true
			c.add(CheckPrivileged, rel, keyLine(kv), object, "privileged: true", "remove privileged: true")
		}
	}

	user, nonRoot := either("runAsUser"), either("runAsNonRoot")
	runsNonRoot := false
	switch nr, _ := boolean(nonRoot); {
	case user != nil && isZero(str(user)):
		c.add(CheckRoot, rel, keyLine(user), object, "runAsUser: 0", "set runAsUser to a non-zero uid and runAsNonRoot: true")
	case nr || user != nil:
		runsNonRoot = true
	default:
		c.add(CheckRoot, rel, nl, object, "runAsNonRoot is not set (the image decides, and most run as root)",
			"set securityContext.runAsNonRoot: true (and a non-zero runAsUser) on the container or the pod")
	}

	if kv := get(sc, "allowPrivilegeEscalation"); kv == nil {
		if !privileged {
			c.add(CheckEscalation, rel, nl, object, "allowPrivilegeEscalation is not set (it defaults to true)",
				"set securityContext.allowPrivilegeEscalation: false")
		}
	} else if v, set := boolean(kv); !set || v {
		c.add(CheckEscalation, rel, keyLine(kv), object, "allowPrivilegeEscalation: true", "set allowPrivilegeEscalation: false")
	}

	if kv := get(sc, "readOnlyRootFilesystem"); kv == nil {
		c.add(CheckReadOnlyRoot, rel, nl, object, "readOnlyRootFilesystem is not set", "set securityContext.readOnlyRootFilesystem: true")
	} else if v, _ := boolean(kv); !v {
		c.add(CheckReadOnlyRoot, rel, keyLine(kv), object, "readOnlyRootFilesystem: false", "set readOnlyRootFilesystem: true")
	}

	caps := get(sc, "capabilities")
	c.capabilities(rel, object, nl, caps, items(value(get(value(caps), "add"))), items(value(get(value(caps), "drop"))), "securityContext.capabilities.drop: [ALL]")

	seccomp := at(sc, "seccompProfile", "type")
	if seccomp == nil {
		seccomp = at(podSC, "seccompProfile", "type")
	}
	switch {
	case seccomp == nil:
		c.add(CheckSeccomp, rel, nl, object, "no seccomp profile", "set securityContext.seccompProfile: {type: RuntimeDefault} on the pod or the container")
	case strings.EqualFold(str(seccomp), "Unconfined"):
		c.add(CheckSeccomp, rel, keyLine(seccomp), object, "seccompProfile Unconfined", "set seccompProfile type RuntimeDefault")
	}

	apparmor := at(sc, "appArmorProfile", "type")
	if apparmor == nil {
		apparmor = at(podSC, "appArmorProfile", "type")
	}
	if apparmor != nil && strings.EqualFold(str(apparmor), "Unconfined") {
		c.add(CheckAppArmor, rel, keyLine(apparmor), object, "appArmorProfile Unconfined", "remove the Unconfined AppArmor profile")
	} else if a := get(annotations, "container.apparmor.security.beta.kubernetes.io/"+cname); a != nil && str(a) == "unconfined" {
		c.add(CheckAppArmor, rel, keyLine(a), object, "AppArmor annotation unconfined", "remove the unconfined AppArmor annotation")
	}

	if !ephemeral { // ephemeral containers take no resources
		lim := at(ctr, "resources", "limits")
		var missing []string
		for _, r := range []string{"memory", "cpu"} {
			if get(value(lim), r) == nil {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			ln := nl
			if lim != nil {
				ln = keyLine(lim)
			}
			c.add(CheckLimits, rel, ln, object, "no "+strings.Join(missing, " or ")+" limit",
				"set resources.limits."+strings.Join(missing, " and resources.limits."))
		}
	}

	if img := get(ctr, "image"); img != nil {
		c.image(rel, keyLine(img), object, str(img))
		c.deployments = append(c.deployments, policy.Deployment{Image: str(img), Object: object, Path: rel, NonRoot: runsNonRoot})
	}
}

// capabilities checks what is added and whether ALL is dropped.
func (c *collector) capabilities(rel, object string, nl int, capsKV *ast.MappingValueNode, add, drop []ast.Node, fix string) {
	dropsAll := false
	for _, d := range drop {
		if s, _ := scalar(d); strings.EqualFold(strings.TrimPrefix(strings.ToUpper(s), "CAP_"), "ALL") {
			dropsAll = true
		}
	}
	if !dropsAll {
		ln := nl
		if capsKV != nil {
			ln = keyLine(capsKV)
		}
		c.add(CheckCapsNotDropped, rel, ln, object, "capabilities are not dropped", "set "+fix)
	}
	for _, a := range add {
		s, _ := scalar(a)
		capName := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "CAP_")
		switch {
		case capName == "SYS_ADMIN" || capName == "ALL":
			c.add(CheckCapSysAdmin, rel, line(a), object, capName+" is added", "remove "+capName+" from the added capabilities")
		case slices.Contains(dangerousCaps, capName):
			c.add(CheckCapabilities, rel, line(a), object+" "+capName, capName+" is added", "remove "+capName+" unless the process needs it")
		}
	}
}

var dangerousCaps = []string{"NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME", "MKNOD", "BPF", "PERFMON", "SYS_RESOURCE", "SETFCAP"}

// image checks how the image is named: a digest, a tag, or neither.
func (c *collector) image(rel string, ln int, object, ref string) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.Contains(ref, "${") || strings.Contains(ref, "$(") {
		return // a variable: what it holds is not here
	}
	if strings.Contains(ref, "@sha256:") {
		return
	}
	name := ref[strings.LastIndex(ref, "/")+1:]
	tag := ""
	if i := strings.LastIndex(name, ":"); i >= 0 {
		tag = name[i+1:]
	}
	switch {
	case tag == "" || tag == "latest":
		c.add(CheckImageLatest, rel, ln, object, fmt.Sprintf("image %s", ref), "use a version tag, better the digest: "+strings.TrimSuffix(ref, ":latest")+"@sha256:…")
	default:
		c.add(CheckImageDigest, rel, ln, object, fmt.Sprintf("image %s", ref), "pin the digest: "+ref+"@sha256:…")
	}
}
