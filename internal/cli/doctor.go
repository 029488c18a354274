package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// Setup is what doctor checks.
type Setup struct {
	Client     *dashscope.Client
	Sandbox    bool
	HasKey     bool
	AllowDirs  []string
	Outputs    *localfiles.OutputDir
	AuthToken  bool
	Transport  string
	ListenAddr string
	// Journal is the job journal's store (the embedded SQLite journal or a
	// shared one), or nil with JournalErr saying why.
	Journal    journal.Store
	JournalErr error
}

// check is one line of the report.
type check struct {
	status string // ok, warn, FAIL, info
	what   string
	fix    string
}

// Doctor checks the setup without spending money (it lists tasks and asks
// for an upload policy, both free) and prints one line per check with what
// to do about problems. It returns 0 when nothing failed, else 1.
func Doctor(ctx context.Context, s Setup, stdout io.Writer) int {
	var checks []check
	add := func(status, what, fix string) { checks = append(checks, check{status, what, fix}) }

	switch {
	case s.Sandbox:
		add("ok", "sandbox mode: DashScope is simulated, no key needed", "")
	case s.HasKey:
		add("ok", "DASHSCOPE_API_KEY is set", "")
	default:
		add("FAIL", "DASHSCOPE_API_KEY is not set", "get a key in the Model Studio console of your region and export DASHSCOPE_API_KEY=sk-..., or try --sandbox")
	}

	base, model := s.Client.BaseURL(), s.Client.Model()
	if !s.Sandbox {
		root := dashscope.ClassifyRoot(base)
		switch err := dashscope.CheckModel(base, model); {
		case err != nil:
			add("FAIL", err.Error(), "the key, the root and the model must belong to one region")
		case root.Kind == dashscope.RootShared:
			add("ok", fmt.Sprintf("region %s (%s), shared domain (legacy): %s, model %s", root.Region.Name, root.Region.Place, base, model), "")
			add("info", "the vendor recommends its workspace domains over the shared ones",
				"add --workspace ID (the id on the console's Workspace Details page, such as llm-xxx) to use your workspace's domain")
		case root.Kind == dashscope.RootWorkspace:
			add("ok", fmt.Sprintf("region %s (%s), workspace domain of %s: %s, model %s", root.Region.Name, root.Region.Place, root.Workspace, base, model), "")
		default:
			add("warn", fmt.Sprintf("custom API root (not a vendor domain, such as a proxy), region unknown: %s, model %s", base, model),
				fmt.Sprintf("make sure it serves the same region as your key (%s keys use %s, %s keys %s)",
					dashscope.RegionIntl.Place, dashscope.RegionIntl.Model, dashscope.RegionCN.Place, dashscope.RegionCN.Model))
		}
		for _, m := range []string{model, s.Client.EditModel()} {
			if len(dashscope.ModelRegions(m)) == 0 {
				add("warn", "model "+m+" is not one vace-mcp knows, so its region is not checked", "check the name against the model list of your key's region")
			}
		}
		add("ok", "video_instruct_edit uses model "+s.Client.EditModel(), "")
		if dashscope.InsecureRoot(base) {
			add("warn", "the API root is plain http:// on another host: the key, prompts and inputs cross the network unencrypted",
				"use an https:// root, or a proxy on this machine (loopback), and drop --allow-insecure-http")
		}
	}

	if s.Sandbox || s.HasKey {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		_, err := s.Client.ListTasks(ctx, dashscope.ListFilter{PageSize: 1})
		var netErr *net.OpError
		switch {
		case err == nil:
			add("ok", "DashScope answers and accepts the key (listed tasks, free)", "")
		case dashscope.IsAuth(err):
			add("FAIL", "DashScope refused the key: "+err.Error(),
				"check the key, and that key, --region and model belong to one region (a key from Beijing does not work in Singapore)")
		case errors.As(err, &netErr):
			add("FAIL", "cannot reach "+base+": "+err.Error(), "check the network, proxy settings, or --base-url")
		default:
			add("FAIL", "listing tasks failed: "+err.Error(), "see the error; --log-level debug shows more")
		}
		if err == nil {
			if _, err := s.Client.GetUploadPolicy(ctx); err != nil {
				add("warn", "temporary uploads are unavailable ("+err.Error()+"): local files cannot be used",
					"the vendor documents temporary storage on the Singapore and Beijing shared domains; elsewhere, pass public http(s) URLs")
			} else {
				add("ok", "temporary uploads work (local files can be used; upload policy from "+s.Client.UploadBaseURL()+")", "")
			}
		}
	}

	if len(s.AllowDirs) == 0 {
		add("info", "no --allow-dir: tools accept only URLs (and files inside a stdio client's roots)", "add --allow-dir DIR to let tools read local files from DIR")
	} else if p, err := localfiles.NewPolicy(s.AllowDirs); err != nil {
		add("FAIL", err.Error(), "give existing directories to --allow-dir")
	} else {
		add("ok", "local files allowed from "+strings.Join(p.Dirs(), ", "), "")
	}
	_, embedded := s.Journal.(*journal.Journal)
	switch {
	case s.Journal != nil && embedded:
		if h, err := s.Journal.Health(ctx); err != nil {
			add("FAIL", err.Error(), "see the message; moving the file aside starts a new, empty journal")
		} else if h.Check != "ok" {
			add("FAIL", fmt.Sprintf("job journal %s fails its integrity check: %s", h.Path, h.Check), "move the file aside (and its -wal and -shm files); a new one is made on the next start")
		} else {
			add("ok", fmt.Sprintf("job journal %s: schema %d, %d jobs, %d bytes, integrity ok", h.Path, h.SchemaVersion, h.Jobs, h.Bytes), "")
		}
	case s.Journal != nil:
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		h, err := s.Journal.Health(hctx)
		cancel()
		switch {
		case err != nil:
			add("FAIL", err.Error(), "paid submissions are refused until the store answers; the read-only tools keep working against DashScope")
		case h.Check != "ok":
			add("FAIL", fmt.Sprintf("shared job journal %s: %s", s.Journal.Describe(), h.Check), "do what it says: paid submissions are refused until then")
		default:
			add("ok", fmt.Sprintf("shared job journal %s answers: schema %d, %d jobs; the duplicate guard, the daily budget and the save lease are shared by every instance using it",
				s.Journal.Describe(), h.SchemaVersion, h.Jobs), "")
		}
	case s.JournalErr != nil:
		add("FAIL", s.JournalErr.Error(), "paid submissions are refused until the journal opens")
	}
	if err := s.Outputs.CheckWritable(); err != nil {
		add("FAIL", err.Error(), "choose a writable --output-dir")
	} else {
		add("ok", "downloads go to "+s.Outputs.Dir(), "")
	}
	if s.Transport != "" && s.Transport != "stdio" {
		if s.AuthToken {
			add("ok", "HTTP requests need the auth token", "")
		} else {
			add("info", "HTTP without --auth-token: fine on loopback ("+s.ListenAddr+"), refused elsewhere", "set --auth-token to serve other machines")
		}
	}

	failed := false
	for _, c := range checks {
		fmt.Fprintf(stdout, "%-4s  %s\n", c.status, c.what) // stdout-ok: the doctor command's report, not the stdio transport
		if c.fix != "" && c.status != "ok" {
			fmt.Fprintf(stdout, "      → %s\n", c.fix) // stdout-ok: the doctor command's report
		}
		failed = failed || c.status == "FAIL"
	}
	if failed {
		return 1
	}
	return 0
}
