package github

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/secgate/secgate/gate/ci"
	"github.com/secgate/secgate/gate/render"
	"github.com/secgate/secgate/gate/repo"
	"github.com/secgate/secgate/gate/report"
	"github.com/secgate/secgate/policy"
)

// Inputs maps each input of action.yml to the flag of `secgate run` it
// sets (the SECGATE_* twin of the same flag is the CLI's other way in), so
// that the CLI and the action cannot drift; "" marks the inputs the action
// reads itself. A test checks that action.yml and this table agree.
var Inputs = map[string]string{
	"path":           "", // the PATH argument
	"image":          "image",
	"platform":       "platform",
	"environment":    "environment",
	"policy":         "policy",
	"scanners":       "only",
	"skip":           "skip",
	"base":           "base",
	"head":           "head",
	"history":        "history",
	"offline-db":     "offline-db",
	"download-db":    "download-db",
	"cache-dir":      "cache-dir",
	"file-issues":    "file-issues",
	"issue-labels":   "issue-labels",
	"close-resolved": "close-resolved",
	"comment":        "comment",
	"sarif-file":     "sarif-file",
	"report-file":    "report",
	"sbom":           "sbom",
	"sbom-format":    "sbom-format",
	"vex":            "vex",
	"vex-out":        "vex-out",
	"verify-secrets": "verify-secrets",
	"deepen":         "deepen",
	"sign":           "sign",
	"tlog-upload":    "tlog-upload",
	"rekor-url":      "rekor-url",
	"fulcio-url":     "fulcio-url",
	"dry-run":        "dry-run",
	"fail-on-error":  "fail-on-error",
	"token":          "", // the API token, read from INPUT_TOKEN
}

// Outputs are the outputs of action.yml, all written by Publish.
var Outputs = []string{"verdict", "deploy-allowed", "critical", "high", "medium", "low", "report-file", "sarif-file", "issues", "image-digest", "signature"}

// Detect reports whether the process runs in GitHub Actions.
func Detect(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" }

// Action is one run of the secgate action: its environment and event.
type Action struct {
	a      *githubactions.Action
	getenv func(string) string
	event  event
	name   string // GITHUB_EVENT_NAME
}

// event is what secgate reads of a workflow's event payload.
type event struct {
	Before      string `json:"before"`
	After       string `json:"after"`
	Ref         string `json:"ref"`
	PullRequest *struct {
		Number int `json:"number"`
		Base   struct {
			SHA string `json:"sha"`
			Ref string `json:"ref"`
		} `json:"base"`
		Head struct {
			SHA  string `json:"sha"`
			Repo struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"head"`
	} `json:"pull_request"`
	MergeGroup *struct {
		BaseSHA string `json:"base_sha"`
		HeadSHA string `json:"head_sha"`
	} `json:"merge_group"`
	Repository struct {
		FullName      string `json:"full_name"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
	// workflow_run: the run that triggered this one, and its pull
	// requests (empty for a fork's)
	WorkflowRun *struct {
		Event          string `json:"event"`
		HeadSHA        string `json:"head_sha"`
		HeadRepository struct {
			FullName string `json:"full_name"`
		} `json:"head_repository"`
		PullRequests []prRef `json:"pull_requests"`
	} `json:"workflow_run"`
	// check_suite, check_run: the suite's pull requests (the same
	// repository's only), whose base the range is judged from
	CheckSuite *checkSuite `json:"check_suite"`
	CheckRun   *struct {
		checkSuite
		CheckSuite *checkSuite `json:"check_suite"`
	} `json:"check_run"`
	// issue_comment: an issue that is a pull request has pull_request
	Issue *struct {
		Number      int             `json:"number"`
		PullRequest json.RawMessage `json:"pull_request"`
	} `json:"issue"`
}

// prRef is a pull request as a workflow_run's or a check suite's payload
// lists it.
type prRef struct {
	Number int `json:"number"`
	Base   struct {
		SHA string `json:"sha"`
	} `json:"base"`
	Head struct {
		SHA string `json:"sha"`
	} `json:"head"`
}

// checkSuite is what a check_suite or check_run payload says of the
// commit and its pull requests.
type checkSuite struct {
	HeadSHA      string  `json:"head_sha"`
	PullRequests []prRef `json:"pull_requests"`
}

// New reads the run's environment and its event payload
// (GITHUB_EVENT_PATH); w receives workflow commands: stderr, which the
// runner reads for them as it reads stdout, so that a machine-readable
// stdout (--format json, sarif, markdown) stays parseable.
func New(getenv func(string) string, w io.Writer) (*Action, error) {
	a := &Action{
		a:      githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(w)),
		getenv: getenv, name: getenv("GITHUB_EVENT_NAME"),
	}
	if err := writable(getenv); err != nil {
		return nil, err
	}
	if p := getenv("GITHUB_EVENT_PATH"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading the event payload GITHUB_EVENT_PATH=%s: %w", p, err)
		}
		if err := json.Unmarshal(data, &a.event); err != nil {
			return nil, fmt.Errorf("the event payload %s (%s) is not valid JSON: %w", p, a.name, err)
		}
	}
	return a, nil
}

// writable fails when the step's output or summary file cannot be written:
// a later step reading an empty verdict output must never be what
// happens. GitHub runs a Docker action as its image's user, and only root
// (or the runner's user) can write these files.
func writable(getenv func(string) string) error {
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		p := getenv(name)
		if p == "" {
			continue
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("cannot write the step's %s file %s (%w), and the verdict must reach it. secgate runs as uid %d; GitHub runs a Docker action as its image's user, and only root or the runner's user can write these files: use the action image (the `-action` tag, which starts as root and becomes the workspace's owner), or run the release image with `docker run --user \"$(id -u):$(id -g)\"`", name, p, errors.Unwrap(err), os.Geteuid())
		}
		f.Close()
	}
	return nil
}

// Input returns an input's value ("" when not given).
func (a *Action) Input(name string) string { return a.a.GetInput(name) }

// Context is what the event says about the run: the range to judge, the
// pull request, a fork.
type Context = ci.Range

// Context decides the range from the event: a pull request's base..head
// (pull_request, pull_request_target, the review events, a workflow_run's
// or a check suite's pull request), a branch push's before..after (a new
// branch, or a forced push whose before is gone: the merge base with the
// default branch, which the pipeline fetched, repo.PushBase), a merge
// group's base..head. Any other run (a tag, a schedule, a manual run, a
// workflow_run of a push, a release...) gives no base: it is judged by
// the one rule of repo.DefaultBranchBase (fromDefaultBranch). root is the
// checkout.
//
// A pull request or merge group whose base the payload does not give
// (issue_comment, a fork's workflow_run), or a run with no merge base
// with the default branch, is an error: judged as a whole tree, the
// change would be judged by its own policy, and could excuse what it
// adds (fail closed).
func (a *Action) Context(ctx context.Context, root string) (Context, error) {
	e := a.event
	switch a.name {
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment":
		pr := e.PullRequest
		if pr == nil || pr.Base.SHA == "" || pr.Head.SHA == "" {
			return Context{}, fmt.Errorf("a %s run, but the event payload (GITHUB_EVENT_PATH=%q) has no pull_request.base.sha and head.sha: the pull request's range cannot be known, and its own policy cannot judge it", a.name, a.getenv("GITHUB_EVENT_PATH"))
		}
		return Context{Base: pr.Base.SHA, Head: pr.Head.SHA, PullRequest: pr.Number,
			Fork: pr.Head.Repo.FullName != "" && pr.Head.Repo.FullName != e.Repository.FullName,
			Note: fmt.Sprintf("pull request #%d: %s..%s", pr.Number, short(pr.Base.SHA), short(pr.Head.SHA))}, nil
	case "merge_group":
		mg := e.MergeGroup
		if mg == nil || mg.BaseSHA == "" || mg.HeadSHA == "" {
			return Context{}, fmt.Errorf("a merge_group run, but the event payload (GITHUB_EVENT_PATH=%q) has no merge_group.base_sha and head_sha: the range cannot be known", a.getenv("GITHUB_EVENT_PATH"))
		}
		return Context{Base: mg.BaseSHA, Head: mg.HeadSHA, Note: "merge group " + short(mg.BaseSHA) + ".." + short(mg.HeadSHA)}, nil
	case "workflow_run":
		if c, given, err := a.workflowRun(); given {
			return c, err
		}
		return a.fromDefaultBranch(ctx, root, "workflow_run of a "+cmp.Or(e.WorkflowRun.Event, "run"))
	case "check_suite", "check_run":
		if c, ok := a.checkPullRequest(); ok {
			return c, nil
		}
	case "issue_comment":
		if a.commentOnPullRequest() {
			return Context{}, fmt.Errorf("an issue_comment run on pull request #%d: the event payload has no base commit, so the pull request's range cannot be known, and its own policy cannot judge it: use the pull_request event (its payload has the base), or pass the base (--base, the action's base input) of a trusted commit", e.Issue.Number)
		}
	case "push":
		if tag := a.pushedTag(); tag != "" {
			return a.fromDefaultBranch(ctx, root, "push of tag "+tag)
		}
		return a.pushContext(ctx, root)
	}
	return a.fromDefaultBranch(ctx, root, cmp.Or(a.name, "a run"))
}

// pushContext is a branch push's range (repo.PushBase).
func (a *Action) pushContext(ctx context.Context, root string) (Context, error) {
	e := a.event
	after := cmp.Or(e.After, a.getenv("GITHUB_SHA"))
	base, note, err := repo.PushBase(ctx, root, e.Before, after, e.Repository.DefaultBranch, a.pushedBranch())
	if err != nil {
		return Context{}, err
	}
	if base == "" {
		return Context{Note: note}, nil
	}
	return Context{Base: base, Head: after, Note: note}, nil
}

// fromDefaultBranch is ci.FromDefaultBranch with the payload's
// repository.default_branch.
func (a *Action) fromDefaultBranch(ctx context.Context, root, what string) (Context, error) {
	return ci.FromDefaultBranch(ctx, root, a.event.Repository.DefaultBranch, what, "the event names no default branch")
}

// checkPullRequest is a check_suite's or check_run's range: its first
// pull request's base..head, when the payload gives both.
func (a *Action) checkPullRequest() (Context, bool) {
	var cs *checkSuite
	switch {
	case a.event.CheckSuite != nil:
		cs = a.event.CheckSuite
	case a.event.CheckRun != nil:
		cs = &a.event.CheckRun.checkSuite
		if len(cs.PullRequests) == 0 && a.event.CheckRun.CheckSuite != nil {
			cs = a.event.CheckRun.CheckSuite
		}
	}
	if cs == nil || len(cs.PullRequests) == 0 {
		return Context{}, false
	}
	pr := cs.PullRequests[0]
	head := cmp.Or(cs.HeadSHA, pr.Head.SHA)
	if pr.Base.SHA == "" || head == "" {
		return Context{}, false
	}
	return Context{Base: pr.Base.SHA, Head: head, PullRequest: pr.Number,
		Note: fmt.Sprintf("%s of pull request #%d: %s..%s", a.name, pr.Number, short(pr.Base.SHA), short(head))}, true
}

// commentOnPullRequest reports whether an issue_comment is on a pull
// request.
func (a *Action) commentOnPullRequest() bool {
	is := a.event.Issue
	return is != nil && len(is.PullRequest) > 0 && string(is.PullRequest) != "null"
}

// workflowRun is the range of a workflow_run event: the triggering run's
// pull request, base..head, when the payload lists it. A run triggered
// by a pull request that the payload does not list (a fork's: GitHub
// leaves pull_requests empty) has no base to judge from: an error. given
// is false for any other (a push's run): the event gives no base.
func (a *Action) workflowRun() (c Context, given bool, err error) {
	wr := a.event.WorkflowRun
	if wr == nil {
		return Context{}, true, fmt.Errorf("a workflow_run run, but the event payload (GITHUB_EVENT_PATH=%q) has no workflow_run: whether it is a pull request's cannot be known", a.getenv("GITHUB_EVENT_PATH"))
	}
	fork := wr.HeadRepository.FullName != "" && wr.HeadRepository.FullName != a.event.Repository.FullName
	if len(wr.PullRequests) > 0 {
		pr := wr.PullRequests[0]
		head := cmp.Or(wr.HeadSHA, pr.Head.SHA)
		if pr.Base.SHA == "" || head == "" {
			return Context{}, true, fmt.Errorf("a workflow_run run of pull request #%d, but the event payload has no pull_requests[0].base.sha and head_sha: the pull request's range cannot be known, and its own policy cannot judge it", pr.Number)
		}
		return Context{Base: pr.Base.SHA, Head: head, PullRequest: pr.Number, Fork: fork,
			Note: fmt.Sprintf("workflow_run of pull request #%d: %s..%s", pr.Number, short(pr.Base.SHA), short(head))}, true, nil
	}
	if wr.Event == "pull_request" || wr.Event == "pull_request_target" || fork {
		return Context{}, true, fmt.Errorf("a workflow_run run of a %s run from %s that lists no pull request (GitHub lists none for a fork's): its base cannot be known, and the pull request's own policy cannot judge it: run secgate in the pull_request workflow itself, or pass the base (--base) of a trusted commit", cmp.Or(wr.Event, "pull request"), cmp.Or(wr.HeadRepository.FullName, "another repository"))
	}
	return Context{}, false, nil
}

// pushedBranch is a push's branch (the payload's ref, else GITHUB_REF),
// "" for a tag.
func (a *Action) pushedBranch() string {
	ref := cmp.Or(a.event.Ref, a.getenv("GITHUB_REF"))
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b
	}
	return ""
}

// pushedTag is a tag push's tag (the payload's ref, else GITHUB_REF), ""
// for a branch.
func (a *Action) pushedTag() string {
	if t, ok := strings.CutPrefix(cmp.Or(a.event.Ref, a.getenv("GITHUB_REF")), "refs/tags/"); ok {
		return t
	}
	return ""
}

// defaultBranch is ci.Platform.DefaultBranch: the payload's default
// branch for a run whose event gives no base, with the pushed head for a
// branch push ("" for the checkout's HEAD otherwise); "" for a pull
// request's run, a merge group, a push of the default branch (or of a
// ref the run does not name: repo.PushBase judges it as before).
func (a *Action) defaultBranch() (defaultBranch, head string) {
	def := a.event.Repository.DefaultBranch
	if def == "" {
		return "", ""
	}
	switch a.name {
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "merge_group":
		return "", ""
	case "push":
		if a.pushedTag() != "" {
			return def, ""
		}
		if b := a.pushedBranch(); b == "" || b == def {
			return "", ""
		}
		return def, cmp.Or(a.event.After, a.getenv("GITHUB_SHA"))
	case "workflow_run":
		if _, given, _ := a.workflowRun(); given {
			return "", ""
		}
	case "check_suite", "check_run":
		if _, ok := a.checkPullRequest(); ok {
			return "", ""
		}
	case "issue_comment":
		if a.commentOnPullRequest() {
			return "", ""
		}
	}
	return def, ""
}

func short(sha string) string { return sha[:min(len(sha), 12)] }

// PublishOptions says what Publish writes besides the report.
type PublishOptions = ci.PublishOptions

// CommentMarker finds the pull request's secgate comment again.
const CommentMarker = "secgate:pr-comment"

// Publish writes what the workflow reads once the report is final: a log
// group per scanner, annotations on files and lines, outputs, the step
// summary. A write that fails is a warning; nothing stops the rest.
func (a *Action) Publish(rep report.Report, o PublishOptions) {
	var failures []string
	try := func(what string, f func() error) {
		defer func() {
			if r := recover(); r != nil { // go-githubactions panics on a failed write
				failures = append(failures, fmt.Sprintf("%s: %v", what, r))
			}
		}()
		if err := f(); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", what, err))
		}
	}
	a.LogScanners(rep)
	try("annotations", func() error { a.annotate(rep); return nil })
	try("outputs", func() error { a.outputs(rep, o); return nil })
	try("the step summary", func() error {
		if a.getenv("GITHUB_STEP_SUMMARY") == "" {
			return nil
		}
		var b strings.Builder
		if err := (report.Markdown{Title: "secgate", MaxBytes: 1000 * 1000, FileURL: a.fileURL()}).Write(&b, rep); err != nil {
			return err
		}
		a.a.AddStepSummary(rep.RedactText(b.String()))
		return nil
	})
	for _, f := range failures {
		a.a.Warningf("secgate could not write %s", oneLine(f))
	}
}

// fileURL links a file at the scanned commit.
func (a *Action) fileURL() string {
	server, repo, sha := cmp.Or(a.getenv("GITHUB_SERVER_URL"), "https://github.com"), a.getenv("GITHUB_REPOSITORY"), a.getenv("GITHUB_SHA")
	if repo == "" || sha == "" {
		return ""
	}
	if pr := a.event.PullRequest; pr != nil && pr.Head.SHA != "" {
		sha = pr.Head.SHA
	}
	return fmt.Sprintf("%s/%s/blob/%s/", server, repo, sha)
}

func (a *Action) outputs(rep report.Report, o PublishOptions) {
	set := a.a.SetOutput
	set("verdict", string(rep.Verdict))
	set("deploy-allowed", strconv.FormatBool(rep.DeployAllowed))
	set("critical", strconv.Itoa(rep.Counts.Critical))
	set("high", strconv.Itoa(rep.Counts.High))
	set("medium", strconv.Itoa(rep.Counts.Medium))
	set("low", strconv.Itoa(rep.Counts.Low))
	set("report-file", o.ReportFile)
	set("sarif-file", o.SARIFFile)
	urls := []string{}
	for _, is := range rep.Issues {
		if is.URL != "" {
			urls = append(urls, is.URL)
		}
	}
	js, _ := json.Marshal(urls)
	set("issues", string(js))
	digest := rep.ImageDigest()
	set("image-digest", digest)
	sig := rep.SignedImage()
	set("signature", sig)
}

// maxAnnotations is what GitHub shows per step and level.
const maxAnnotations = 10

// annotate marks files and lines: errors for fail and block-production
// findings, warnings for file-issue ones, the most severe first, one per
// file, line and rule, at most ten of each.
func (a *Action) annotate(rep report.Report) {
	seen := map[string]bool{}
	errs, warns := 0, 0
	for _, f := range rep.Findings { // sorted most severe first
		if f.Location.Path == "" || f.Location.Image != "" || f.Action == policy.ActionIgnored || f.Action == policy.ActionReport {
			continue
		}
		key := fmt.Sprintf("%s:%d:%s", f.Location.Path, f.Location.Line, f.Rule)
		if seen[key] {
			continue
		}
		seen[key] = true
		path, _, _ := strings.Cut(f.Location.Path, "!")
		fields := map[string]string{"file": path, "title": fmt.Sprintf("secgate: %s %s", f.Severity, f.Rule)}
		if f.Location.Line > 0 {
			fields["line"] = strconv.Itoa(f.Location.Line)
		}
		msg := render.Terminal(f.Title)
		if f.Fix != "" {
			msg += " — " + render.Terminal(f.Fix)
		}
		switch {
		case (f.Action == policy.ActionFail || f.Action == policy.ActionBlockProduction) && errs < maxAnnotations:
			errs++
			a.a.WithFieldsMap(fields).Errorf("%s", msg)
		case f.Action == policy.ActionFileIssue && warns < maxAnnotations:
			warns++
			a.a.WithFieldsMap(fields).Warningf("%s", msg)
		}
	}
}

// oneLine renders untrusted text for a workflow command's message or a
// log line (go-githubactions then escapes a command's data).
func oneLine(s string) string { return render.Terminal(s) }

// Group starts a folded log group (a scanner's lines).
func (a *Action) Group(title string) { a.a.Group(title) }

// EndGroup ends it.
func (a *Action) EndGroup() { a.a.EndGroup() }

// LogScanners writes a folded log group per scanner with its duration.
func (a *Action) LogScanners(rep report.Report) {
	for _, s := range rep.Scanners {
		a.a.Group(fmt.Sprintf("secgate %s: %s, %d findings, %d ms", s.Name, s.Status, s.Findings, s.DurationMS))
		if s.Coverage != nil {
			a.a.Infof("%s", oneLine(report.CoverageLine(*s.Coverage)))
		}
		for _, n := range s.Notes {
			a.a.Infof("%s", oneLine(n))
		}
		if s.Error != "" {
			a.a.Infof("error: %s", oneLine(s.Error))
		}
		a.a.EndGroup()
	}
}

// client is the API client of the run's token (the token input, else
// GITHUB_TOKEN), or why there is none.
func (a *Action) client() (*Client, error) {
	token := cmp.Or(a.Input("token"), a.getenv("GITHUB_TOKEN"))
	if token == "" {
		return nil, errors.New("no token for the GitHub Issues API: set the action's token input or GITHUB_TOKEN (permissions: issues: write)")
	}
	return NewClient(a.getenv("GITHUB_API_URL"), a.getenv("GITHUB_REPOSITORY"), token, Retry{})
}

// runURL links the workflow run.
func (a *Action) runURL() string {
	server, repo, id := cmp.Or(a.getenv("GITHUB_SERVER_URL"), "https://github.com"), a.getenv("GITHUB_REPOSITORY"), a.getenv("GITHUB_RUN_ID")
	if repo == "" || id == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", server, repo, id)
}
