// Command lint-deploy checks the Dockerfile and deploy/ for what the
// deployment relies on, since hadolint is not packaged for Debian: a
// static, trimmed build; a non-root user on a distroless or scratch base;
// a health check by "rolegate healthcheck"; ROLEGATE_ADDR set to listen
// on every interface; a compose file with PostgreSQL, two rolegate
// replicas that trust their network as the proxy's, and nginx; and an
// nginx.conf whose auth_request reaches /v1/authz/forward and whose every
// proxied location sends the client's address and the request id. Run
// from the repository root:
//
//	go run ./.ci/lint-deploy [ROOT]
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	problems := append(checkDockerfile(filepath.Join(root, "Dockerfile")), checkCompose(filepath.Join(root, "deploy"))...)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "lint-deploy:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Println("lint-deploy: ok")
}

func read(path string) (string, []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", []string{err.Error()}
	}
	return string(data), nil
}

// checkDockerfile checks the build and the final stage.
func checkDockerfile(path string) []string {
	text, problems := read(path)
	if problems != nil {
		return problems
	}
	// Join continued lines, so that each instruction is one line.
	text = strings.ReplaceAll(text, "\\\n", " ")
	var froms []string
	var build, user, health, env string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, line)
			user = "" // USER applies per stage
		case "RUN":
			if strings.Contains(line, "go build") {
				build = line
			}
		case "USER":
			user = fields[1]
		case "HEALTHCHECK":
			health = line
		case "ENV":
			env += " " + line + " "
		}
	}
	add := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, path+": "+msg)
		}
	}
	add(build != "", "no RUN with go build")
	add(strings.Contains(build, "CGO_ENABLED=0"), "go build without CGO_ENABLED=0: the binary must be static")
	add(strings.Contains(build, "-trimpath"), "go build without -trimpath")
	add(len(froms) > 0, "no FROM")
	if len(froms) > 0 {
		last := froms[len(froms)-1]
		add(strings.Contains(last, "gcr.io/distroless/") || regexp.MustCompile(`(?i)^FROM\s+scratch\b`).MatchString(last),
			"the final stage is not distroless or scratch: "+last)
	}
	add(user != "" && user != "root" && user != "0" && !strings.HasPrefix(user, "0:") && !strings.HasPrefix(user, "root:"),
		"the final stage does not set a non-root USER")
	add(strings.Contains(health, "rolegate") && strings.Contains(health, "healthcheck"), "no HEALTHCHECK running rolegate healthcheck")
	// Without it the development default, 127.0.0.1:8080, would leave the
	// container unreachable from outside.
	add(regexp.MustCompile(`\sROLEGATE_ADDR=(0\.0\.0\.0)?:\d+\s`).MatchString(env), "no ENV ROLEGATE_ADDR=:PORT: rolegate listens on loopback only by default")
	return problems
}

// checkCompose checks deploy/docker-compose.yml and deploy/nginx.conf.
func checkCompose(dir string) []string {
	path := filepath.Join(dir, "docker-compose.yml")
	text, problems := read(path)
	if problems != nil {
		return problems
	}
	var compose struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Environment map[string]string
		}
		Networks map[string]struct {
			IPAM struct {
				Config []struct{ Subnet string }
			}
		}
	}
	// Compose files override merged keys (<<: *anchor), which goccy/go-yaml
	// would report as repeated.
	if err := yaml.UnmarshalWithOptions([]byte(text), &compose, yaml.AllowDuplicateMapKey()); err != nil {
		return []string{path + ": " + err.Error()}
	}
	var subnets []string
	for _, c := range compose.Networks["default"].IPAM.Config {
		subnets = append(subnets, c.Subnet)
	}
	var postgres, servers, nginx int
	for name, s := range compose.Services {
		switch {
		case strings.HasPrefix(s.Image, "postgres"):
			postgres++
		case strings.HasPrefix(s.Image, "rolegate") && len(s.Command) > 0 && s.Command[0] == "serve":
			servers++
			if trusted := s.Environment["ROLEGATE_TRUSTED_PROXIES"]; trusted == "" || !slices.Contains(subnets, trusted) {
				problems = append(problems, fmt.Sprintf("%s: service %s: got ROLEGATE_TRUSTED_PROXIES %q, want the default network's subnet (one of %q), so that nginx's X-Forwarded-For is believed",
					path, name, trusted, subnets))
			}
		}
	}
	if _, ok := compose.Services["nginx"]; ok {
		nginx++
	}
	add := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, msg)
		}
	}
	add(postgres == 1, fmt.Sprintf("%s: got %d postgres services, want 1", path, postgres))
	add(servers >= 2, fmt.Sprintf("%s: got %d rolegate services running serve, want at least 2", path, servers))
	add(nginx == 1, path+": no nginx service")
	conf, confProblems := read(filepath.Join(dir, "nginx.conf"))
	problems = append(problems, confProblems...)
	problems = append(problems, checkProxyHeaders(conf)...)
	m := regexp.MustCompile(`(?m)^\s*auth_request\s+(\S+);`).FindStringSubmatch(conf)
	add(m != nil, "deploy/nginx.conf: no auth_request")
	if m != nil {
		target := m[1]
		block := regexp.MustCompile(`(?s)location\s*=\s*` + regexp.QuoteMeta(target) + `\s*\{(.*?)\}`).FindStringSubmatch(conf)
		add(target == "/v1/authz/forward" || (block != nil && regexp.MustCompile(`proxy_pass\s+http://\S+/v1/authz/forward;`).MatchString(block[1])),
			"deploy/nginx.conf: auth_request "+target+" does not reach /v1/authz/forward")
	}
	return problems
}

// directive is one nginx directive, with its block if it has one.
type directive struct {
	name  string
	args  []string
	block []directive
}

// parseNginx reads nginx configuration text into directives. It knows
// comments, quotes and blocks, which is all nginx.conf uses.
func parseNginx(text string) ([]directive, error) {
	tokens := regexp.MustCompile(`#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};#"']+`).FindAllString(text, -1)
	var parse func(depth int) ([]directive, error)
	parse = func(depth int) ([]directive, error) {
		var out []directive
		var cur []string
		for len(tokens) > 0 {
			tok := tokens[0]
			tokens = tokens[1:]
			switch {
			case strings.HasPrefix(tok, "#"):
			case tok == ";":
				if len(cur) > 0 {
					out = append(out, directive{name: cur[0], args: cur[1:]})
				}
				cur = nil
			case tok == "{":
				if len(cur) == 0 {
					return nil, fmt.Errorf("a block with no directive")
				}
				block, err := parse(depth + 1)
				if err != nil {
					return nil, err
				}
				out = append(out, directive{name: cur[0], args: cur[1:], block: block})
				cur = nil
			case tok == "}":
				if depth == 0 || len(cur) > 0 {
					return nil, fmt.Errorf("unexpected }")
				}
				return out, nil
			default:
				cur = append(cur, strings.Trim(tok, `"'`))
			}
		}
		if depth > 0 || len(cur) > 0 {
			return nil, fmt.Errorf("unexpected end of file")
		}
		return out, nil
	}
	return parse(0)
}

// checkProxyHeaders checks that every location that proxies sends
// X-Forwarded-For as $remote_addr (a client cannot add to it) and an
// X-Request-ID, which also goes back to the client. proxy_set_header and
// add_header are inherited only by blocks that set none of their own,
// which is the mistake this catches.
func checkProxyHeaders(conf string) []string {
	top, err := parseNginx(conf)
	if err != nil {
		return []string{"deploy/nginx.conf: " + err.Error()}
	}
	var problems []string
	var walk func(ds []directive, setHeaders, addHeaders map[string]string, where string)
	walk = func(ds []directive, setHeaders, addHeaders map[string]string, where string) {
		if own := headers(ds, "proxy_set_header"); len(own) > 0 {
			setHeaders = own
		}
		if own := headers(ds, "add_header"); len(own) > 0 {
			addHeaders = own
		}
		for _, d := range ds {
			if d.name == "proxy_pass" {
				if got := setHeaders["x-forwarded-for"]; got != "$remote_addr" {
					problems = append(problems, fmt.Sprintf("deploy/nginx.conf: %s: got X-Forwarded-For %q, want $remote_addr, which a client cannot add to", where, got))
				}
				id := setHeaders["x-request-id"]
				if !strings.HasPrefix(id, "$") {
					problems = append(problems, fmt.Sprintf("deploy/nginx.conf: %s: got X-Request-ID %q, want the request id variable", where, id))
				} else if back := addHeaders["x-request-id"]; back != id+" always" {
					problems = append(problems, fmt.Sprintf("deploy/nginx.conf: %s: got add_header X-Request-ID %q, want %q, the id sent upstream", where, back, id+" always"))
				}
			}
			if d.block != nil {
				walk(d.block, setHeaders, addHeaders, strings.TrimSpace(d.name+" "+strings.Join(d.args, " ")))
			}
		}
	}
	walk(top, nil, nil, "main")
	return problems
}

// headers returns the name (lower-cased) and value of each directive
// called name among ds, such as proxy_set_header.
func headers(ds []directive, name string) map[string]string {
	out := map[string]string{}
	for _, d := range ds {
		if d.name == name && len(d.args) >= 2 {
			out[strings.ToLower(d.args[0])] = strings.Join(d.args[1:], " ")
		}
	}
	return out
}
