package dashscope

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Region is a DashScope region that serves the video-editing models: its
// roots and its name for the VACE model. The key, the root and the model must
// all belong to the same region; a cross-region call fails (InvalidApiKey).
type Region struct {
	// Name is the region as --region takes it: intl or cn.
	Name string
	// Place says where the region is, for people: Singapore or Beijing.
	Place string
	// BaseURL is the API root on the region's shared domain (the vendor's legacy default).
	BaseURL string
	// WorkspaceDomain is the host suffix of the region's workspace domains,
	// {WorkspaceId}.WorkspaceDomain, the roots the vendor recommends.
	WorkspaceDomain string
	// Model is the region's name for wan2.1-vace-plus, the default model.
	Model string
}

// apiPath is where the API lives under every vendor domain.
const apiPath = "/api/v1"

// The regions that serve wan2.1-vace-plus.
var (
	RegionIntl = Region{Name: "intl", Place: "Singapore", BaseURL: "https://dashscope-intl.aliyuncs.com" + apiPath,
		WorkspaceDomain: "ap-southeast-1.maas.aliyuncs.com", Model: "wan2.1-vace-plus"}
	RegionCN = Region{Name: "cn", Place: "Beijing", BaseURL: "https://dashscope.aliyuncs.com" + apiPath,
		WorkspaceDomain: "cn-beijing.maas.aliyuncs.com", Model: "wanx2.1-vace-plus"}
)

// Regions lists the known regions by name.
var Regions = map[string]Region{RegionIntl.Name: RegionIntl, RegionCN.Name: RegionCN}

// modelNames gives each model the client knows its name in every region that
// serves it: VACE is named per region, a model may be named alike in all.
var modelNames = []map[string]string{
	{RegionIntl.Name: RegionIntl.Model, RegionCN.Name: RegionCN.Model},
	{RegionIntl.Name: EditModel, RegionCN.Name: EditModel},
}

// ModelRegions lists the regions that serve a model under this name, ordered
// by region name; none when the model is not one the client knows.
func ModelRegions(model string) []Region {
	var out []Region
	for _, names := range modelNames {
		for region, name := range names {
			if name == model {
				out = append(out, Regions[region])
			}
		}
	}
	slices.SortFunc(out, func(a, b Region) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nameIn is the name in region r of the model called model elsewhere, or ""
// when r does not serve it.
func nameIn(model string, r Region) string {
	for _, names := range modelNames {
		for _, name := range names {
			if name == model {
				return names[r.Name]
			}
		}
	}
	return ""
}

// WorkspaceRoot is the API root on the domain of workspace id in r.
func (r Region) WorkspaceRoot(id string) (string, error) {
	if err := checkWorkspaceID(id); err != nil {
		return "", err
	}
	return "https://" + strings.ToLower(id) + "." + r.WorkspaceDomain + apiPath, nil
}

// checkWorkspaceID accepts what can be the first label of a host name, as a
// workspace id (llm-xxx) must be to name its domain.
func checkWorkspaceID(id string) error {
	ok := id != "" && len(id) <= 63 && id[0] != '-' && id[len(id)-1] != '-'
	for _, r := range id {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	}
	if !ok {
		return fmt.Errorf("workspace id %q: use the id on the console's Workspace Details page, letters, digits and '-' (such as llm-xxx)", id)
	}
	return nil
}

// RootKind says whose API root a client calls.
type RootKind string

const (
	// RootShared is a region's shared domain, such as dashscope-intl.aliyuncs.com.
	RootShared RootKind = "shared"
	// RootWorkspace is one workspace's own domain, such as llm-xxx.ap-southeast-1.maas.aliyuncs.com.
	RootWorkspace RootKind = "workspace"
	// RootCustom is any other root, such as a proxy's: its region is not known.
	RootCustom RootKind = "custom"
)

// Root is what is known of an API root.
type Root struct {
	Kind RootKind
	// Region is a vendor root's region; zero for a custom root.
	Region Region
	// Workspace is a workspace root's workspace id, in lower case.
	Workspace string
}

// RegionName is a vendor root's region name, or "custom".
func (r Root) RegionName() string {
	if r.Kind == RootCustom {
		return string(RootCustom)
	}
	return r.Region.Name
}

// ClassifyRoot tells the vendor's roots (shared or workspace domains, by
// host) from custom ones. The host alone decides: the region is where the
// host is, whatever the scheme or path.
func ClassifyRoot(root string) Root {
	u, err := url.Parse(root)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return Root{Kind: RootCustom}
	}
	host := strings.ToLower(u.Hostname())
	for _, r := range Regions {
		if shared, err := url.Parse(r.BaseURL); err == nil && host == shared.Hostname() {
			return Root{Kind: RootShared, Region: r}
		}
		if id, ok := strings.CutSuffix(host, "."+r.WorkspaceDomain); ok && checkWorkspaceID(id) == nil {
			return Root{Kind: RootWorkspace, Region: r, Workspace: id}
		}
	}
	return Root{Kind: RootCustom}
}

// InsecureRoot reports whether calls to root would carry the API key across
// a network in clear text: plain http:// to a host other than loopback.
func InsecureRoot(root string) bool {
	u, err := url.Parse(root)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// ModelRegionError is a model known to belong to another region than the
// vendor root it would be sent to.
type ModelRegionError struct {
	Model       string
	ModelRegion Region // a region that serves Model under this name
	Root        string // userinfo hidden (see [RedactURL]): the error is shown
	RootRegion  Region
	// RootModel is the same model's name in RootRegion; "" when it is not served there.
	RootModel string
}

func (e *ModelRegionError) Error() string {
	fix := fmt.Sprintf("a %s root such as %s", e.ModelRegion.Place, e.ModelRegion.BaseURL)
	if e.RootModel != "" {
		fix = "model " + e.RootModel + ", or " + fix
	}
	return fmt.Sprintf("dashscope: model %s is the %s (%s) name for the model, but the API root %s is in %s (%s): use %s",
		e.Model, e.ModelRegion.Place, e.ModelRegion.Name, e.Root, e.RootRegion.Place, e.RootRegion.Name, fix)
}

// CheckModel refuses, with a [*ModelRegionError], a model known to belong
// only to regions other than the vendor root's. A custom root or a model the
// client does not know passes: nothing is known to contradict them.
func CheckModel(root, model string) error {
	r := ClassifyRoot(root)
	regions := ModelRegions(model)
	if r.Kind == RootCustom || len(regions) == 0 || slices.ContainsFunc(regions, func(m Region) bool { return m.Name == r.Region.Name }) {
		return nil
	}
	return &ModelRegionError{Model: model, ModelRegion: regions[0], Root: RedactURL(strings.TrimRight(root, "/")),
		RootRegion: r.Region, RootModel: nameIn(model, r.Region)}
}
