package dockerfile

import (
	"fmt"
	"slices"
	"testing"
)

// Red-team bypasses, each read as BuildKit builds it: the rule the line
// breaks, at the line, and nothing of that rule where none is broken.
func TestBypasses(t *testing.T) {
	const from = "FROM alpine:3.20@sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
	tests := []struct {
		name, file string
		rule       string
		lines      []int // the rule's findings' lines; none when nil
	}{
		{"COPY heredoc sudoers", from + "COPY <<EOT /etc/sudoers.d/app\napp ALL=(ALL) NOPASSWD:ALL\nEOT\nUSER 10001\n", CheckSudo, []int{2}},
		{"ADD heredoc sudoers", from + "ADD <<EOT /etc/sudoers.d/app\napp ALL=(ALL) NOPASSWD:ALL\nEOT\nUSER 10001\n", CheckSudo, []int{2}},
		{"RUN heredoc sudoers", from + "RUN <<EOT\necho 'app ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/app\nEOT\nUSER 10001\n", CheckSudo, []int{2}},
		{"COPY heredoc harmless", from + "COPY <<EOT /etc/app.conf\nlisten 8080\nEOT\nUSER 10001\n", CheckSudo, nil},
		{"bash -c $(curl)", from + "RUN bash -c \"$(curl -fsSL https://example.test/install.sh)\"\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"sh -c backticks wget", from + "RUN sh -c \"`wget -qO- https://example.test/i.sh`\"\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"eval $(curl)", from + "RUN eval \"$(curl -s https://example.test/env)\"\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"curl | /bin/sh -", from + "RUN curl -fsSL https://example.test/i.sh | /bin/sh -\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"wget -qO- | sh", from + "RUN wget -qO- https://example.test/i.sh | sh\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"wget, & in a quoted URL, | sh", from + "RUN wget -qO- \"https://example.test/i.sh?a=1&b=2\" | sh\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"curl | sudo -E bash", from + "RUN curl -sL https://example.test/setup | sudo -E bash -\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"curl | python3", from + "RUN curl -sSL https://example.test/get.py | python3 -\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"bash <(curl)", from + "RUN bash <(curl -s https://example.test/i.sh)\nUSER 10001\n", CheckCurlPipe, []int{2}},
		{"curl to a file, checked", from + "RUN curl -fsSLo /tmp/i.sh https://example.test/i.sh && sha256sum -c /tmp/i.sum && sh /tmp/i.sh\nUSER 10001\n", CheckCurlPipe, nil},
		{"curl | tar, not a shell", from + "RUN curl -fsSL https://example.test/x.tgz | tar -xz -C /opt && shellcheck --version\nUSER 10001\n", CheckCurlPipe, nil},
		{"USER $U from ARG", from + "ARG U=root\nUSER $U\n", CheckRoot, []int{3}},
		{"USER ${U} from ARG", from + "ARG U=root\nUSER ${U}\n", CheckRoot, []int{3}},
		{"USER ${U:-0} unset", from + "USER ${U:-0}\n", CheckRoot, []int{2}},
		{"USER from ENV", from + "ENV RUNAS=0:0\nUSER ${RUNAS}\n", CheckRoot, []int{3}},
		{"USER from global ARG redeclared", "ARG U=root\n" + from + "ARG U\nUSER $U\n", CheckRoot, []int{4}},
		{"USER from ENV of the parent stage", from[:len(from)-1] + " AS base\nENV U=0\nFROM base\nUSER $U\n", CheckRoot, []int{4}},
		{"ENV wins over ARG", from + "ENV U=10001\nARG U=root\nUSER $U\n", CheckRoot, nil},
		{"USER 0", from + "USER 0\n", CheckRoot, []int{2}},
		{"USER root:root", from + "USER root:root\n", CheckRoot, []int{2}},
		{"USER \"root\" quoted", from + "USER \"root\"\n", CheckRoot, []int{2}},
		{"USER 00", from + "USER 00\n", CheckRoot, []int{2}},
		{"USER 0:0", from + "USER 0:0\n", CheckRoot, []int{2}},
		{"USER from ARG, non-root", from + "ARG U=10001\nUSER $U\n", CheckRoot, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{s: New(Options{}), seen: map[string]bool{}}
			if !c.file("Dockerfile", []byte(tt.file), true) {
				t.Fatalf("does not parse: %v", c.warnings)
			}
			var got []int
			for _, f := range c.findings {
				if f.Rule == tt.rule {
					got = append(got, f.Location.Line)
				}
			}
			if !slices.Equal(got, tt.lines) {
				t.Errorf("%s at lines %v, want %v (findings %s)", tt.rule, got, tt.lines, fmt.Sprint(c.findings))
			}
		})
	}
}
