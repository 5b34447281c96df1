package manifests

import (
	"regexp"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/secgate/secgate/policy"
)

// compose checks a Compose file's services; named is true when the file's
// name says Compose, else a top-level services: whose entries have an
// image or a build decides.
func (c *collector) compose(rel string, doc ast.Node, named bool) bool {
	services := value(get(doc, "services"))
	var svcs []*ast.MappingValueNode
	for _, kv := range pairs(services) {
		if get(kv.Value, "image") != nil || get(kv.Value, "build") != nil {
			svcs = append(svcs, kv)
		}
	}
	if len(svcs) == 0 || !named && len(svcs) < len(pairs(services)) {
		return false
	}
	ast.Walk(interpolator{}, services)
	for _, kv := range svcs {
		c.services++
		c.service(rel, kv)
	}
	return true
}

// service checks one Compose service.
func (c *collector) service(rel string, kv *ast.MappingValueNode) {
	svc := kv.Value
	object := "service " + keyOf(kv)
	nl := keyLine(kv)

	if p := get(svc, "privileged"); p != nil {
		if v, _ := boolean(p); v {
			c.add(CheckPrivileged, rel, keyLine(p), object, "privileged: true", "remove privileged: true")
		}
	}
	nonRoot := false
	if u := get(svc, "user"); u == nil {
		c.add(CheckRoot, rel, nl, object, "user is not set (the image decides, and most run as root)", "set user: to a non-root uid (\"10001:10001\")")
	} else if s := strings.TrimSpace(str(u)); s == "root" || s == "0" || strings.HasPrefix(s, "0:") || strings.HasPrefix(s, "root:") {
		c.add(CheckRoot, rel, keyLine(u), object, "user: "+s, "set user: to a non-root uid")
	} else {
		nonRoot = true
	}

	secopt := get(svc, "security_opt")
	noNewPrivs := false
	for _, o := range items(value(secopt)) {
		s, _ := scalar(o)
		s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "=", ":"))
		switch {
		case s == "no-new-privileges" || s == "no-new-privileges:true":
			noNewPrivs = true
		case s == "seccomp:unconfined":
			c.add(CheckSeccomp, rel, line(o), object, "seccomp:unconfined", "remove seccomp:unconfined from security_opt")
		case s == "apparmor:unconfined":
			c.add(CheckAppArmor, rel, line(o), object, "apparmor:unconfined", "remove apparmor:unconfined from security_opt")
		}
	}
	if !noNewPrivs {
		ln := nl
		if secopt != nil {
			ln = keyLine(secopt)
		}
		c.add(CheckEscalation, rel, ln, object, "no-new-privileges is not set", "add security_opt: [\"no-new-privileges:true\"]")
	}

	if ro := get(svc, "read_only"); ro == nil {
		c.add(CheckReadOnlyRoot, rel, nl, object, "read_only is not set", "set read_only: true (and tmpfs: for the paths it writes)")
	} else if v, _ := boolean(ro); !v {
		c.add(CheckReadOnlyRoot, rel, keyLine(ro), object, "read_only: false", "set read_only: true")
	}

	c.capabilities(rel, object, nl, get(svc, "cap_drop"), items(value(get(svc, "cap_add"))), items(value(get(svc, "cap_drop"))), "cap_drop: [ALL]")

	for _, k := range []string{"network_mode", "pid", "ipc"} {
		if m := get(svc, k); m != nil && strings.EqualFold(str(m), "host") {
			c.add(CheckHostNamespaces, rel, keyLine(m), object+" "+k, k+": host", "remove "+k+": host")
		}
	}

	for _, v := range items(value(get(svc, "volumes"))) {
		src := ""
		if s, ok := scalar(v); ok {
			src, _, _ = strings.Cut(s, ":")
		} else if t := str(get(v, "type")); t == "bind" || t == "" {
			src = str(get(v, "source"))
		}
		if strings.HasPrefix(src, "/") {
			c.hostPath(rel, line(v), object+" volume "+src, src, false)
		}
	}

	limited := get(svc, "mem_limit") != nil || at(svc, "deploy", "resources", "limits", "memory") != nil
	if !limited {
		c.add(CheckLimits, rel, nl, object, "no memory limit", "set deploy.resources.limits.memory (or mem_limit)")
	}

	if img := get(svc, "image"); img != nil {
		c.image(rel, keyLine(img), object, str(img))
		c.deployments = append(c.deployments, policy.Deployment{Image: str(img), Object: object, Path: rel, NonRoot: nonRoot})
	}
}

// Compose interpolates ${VAR:-default} from the environment of whoever
// runs it, which is not here: each reference is read as its default, the
// value it has when the variable is unset (user: ${APP_USER:-root} runs as
// root), ${VAR} alone as the empty string Compose gives it.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^${}]*))?\}`)

func interpolate(s string) string {
	s = strings.ReplaceAll(s, "$$", "\x00")
	for range 8 { // nested defaults, innermost first
		next := composeVar.ReplaceAllStringFunc(s, func(m string) string {
			sub := composeVar.FindStringSubmatch(m)
			switch sub[2] {
			case ":-", "-":
				return sub[3]
			case "":
				return ""
			}
			return m // :? and :+ depend on the environment
		})
		if next == s {
			break
		}
		s = next
	}
	return strings.ReplaceAll(s, "\x00", "$")
}

// interpolator rewrites the services' strings in place.
type interpolator struct{}

func (interpolator) Visit(n ast.Node) ast.Visitor {
	if t, ok := n.(*ast.StringNode); ok && strings.Contains(t.Value, "$") {
		t.Value = interpolate(t.Value)
	}
	return interpolator{}
}
