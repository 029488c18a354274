package tools

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/server"
)

// Reference writes the Markdown tool reference in README.md from the tool
// definitions themselves, so the documentation cannot drift from the schemas.
func Reference(tools []server.ServerTool) string {
	var b strings.Builder
	for _, t := range tools {
		d := t.Tool
		fmt.Fprintf(&b, "### `%s` — %s\n\n%s\n\n", d.Name, d.Title, d.Description)
		var hints []string
		a := d.Annotations
		if a.ReadOnlyHint != nil && *a.ReadOnlyHint {
			hints = append(hints, "read-only")
		}
		if a.DestructiveHint != nil && *a.DestructiveHint {
			hints = append(hints, "destructive")
		}
		if a.IdempotentHint != nil && !*a.IdempotentHint {
			hints = append(hints, "not idempotent (each call may start a paid job)")
		}
		if len(hints) > 0 {
			fmt.Fprintf(&b, "Annotations: %s.\n\n", strings.Join(hints, ", "))
		}
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}
		if err := json.Unmarshal(d.RawInputSchema, &schema); err != nil {
			panic(err)
		}
		b.WriteString("| argument | type | required | description |\n|---|---|---|---|\n")
		for _, name := range propertyOrder(d.RawInputSchema) {
			var p struct {
				Type        string                 `json:"type"`
				Items       *struct{ Type string } `json:"items"`
				Enum        []any                  `json:"enum"`
				Minimum     *float64
				Maximum     *float64
				MinItems    *int   `json:"minItems"`
				MaxItems    *int   `json:"maxItems"`
				MaxLength   *int   `json:"maxLength"`
				Default     any    `json:"default"`
				Description string `json:"description"`
			}
			_ = json.Unmarshal(schema.Properties[name], &p)
			typ := p.Type
			if p.Items != nil {
				typ = p.Items.Type + "[]"
			}
			var facts []string
			if len(p.Enum) > 0 {
				var vals []string
				for _, v := range p.Enum {
					vals = append(vals, fmt.Sprintf("`%v`", v))
				}
				facts = append(facts, "one of "+strings.Join(vals, ", "))
			}
			switch {
			case p.Minimum != nil && p.Maximum != nil:
				facts = append(facts, "range "+bound(*p.Minimum)+"–"+bound(*p.Maximum))
			case p.Minimum != nil:
				facts = append(facts, "at least "+bound(*p.Minimum))
			case p.Maximum != nil:
				facts = append(facts, "at most "+bound(*p.Maximum))
			}
			switch {
			case p.MinItems != nil && p.MaxItems != nil && *p.MinItems == *p.MaxItems && *p.MinItems == 1:
				facts = append(facts, "exactly 1 item")
			case p.MinItems != nil && p.MaxItems != nil && *p.MinItems == *p.MaxItems:
				facts = append(facts, fmt.Sprintf("exactly %d items", *p.MinItems))
			case p.MinItems != nil && p.MaxItems != nil:
				facts = append(facts, fmt.Sprintf("%d–%d items", *p.MinItems, *p.MaxItems))
			}
			if p.MaxLength != nil && !strings.Contains(p.Description, fmt.Sprintf("at most %d characters", *p.MaxLength)) {
				facts = append(facts, fmt.Sprintf("at most %d characters", *p.MaxLength))
			}
			if p.Default != nil {
				facts = append(facts, fmt.Sprintf("default `%v`", p.Default))
			}
			desc := p.Description
			if len(facts) > 0 {
				desc += " (" + strings.Join(facts, "; ") + ")"
			}
			req := ""
			if slices.Contains(schema.Required, name) {
				req = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, typ, req, strings.ReplaceAll(desc, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// propertyOrder returns a schema's property names in the order they appear.
func propertyOrder(schema json.RawMessage) []string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(top["properties"])))
	var names []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return names
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				names = append(names, v)
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return names
				}
			}
		}
	}
}

func bound(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
