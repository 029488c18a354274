package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// prop is what the model reads about one argument besides its JSON type:
// the text, and the API's enums, ranges and defaults, taken from package
// dashscope so each limit is written once.
type prop struct {
	desc               string
	enum               []string
	itemEnum           []string // for lists of enum values, such as obj_or_bg
	min, max           *float64
	def                any
	maxLength          int
	minItems, maxItems int
}

// props describes a tool's arguments by JSON name.
type props map[string]prop

func num(v float64) *float64 { return &v }

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// inputSchema generates the JSON Schema of an args type: one flat object with
// the JSON types and required fields of its struct, the text and constraints
// of p, no $refs, and no other properties allowed. Every argument must be
// described in p, so none reaches the model unexplained.
func inputSchema(args any, p props) json.RawMessage {
	s := reflectSchema(args)
	for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
		d, ok := p[pair.Key]
		if !ok {
			panic(fmt.Sprintf("tools: %T.%s has no description", args, pair.Key)) // caught by every test
		}
		apply(pair.Value, d)
	}
	if len(p) != s.Properties.Len() {
		panic(fmt.Sprintf("tools: %T: props name arguments the type does not have", args))
	}
	return marshalSchema(s)
}

func apply(s *jsonschema.Schema, d prop) {
	s.Description = d.desc
	for _, e := range d.enum {
		s.Enum = append(s.Enum, e)
	}
	if d.itemEnum != nil {
		for _, e := range d.itemEnum {
			s.Items.Enum = append(s.Items.Enum, e)
		}
	}
	if d.min != nil {
		s.Minimum = json.Number(strconv.FormatFloat(*d.min, 'f', -1, 64))
	}
	if d.max != nil {
		s.Maximum = json.Number(strconv.FormatFloat(*d.max, 'f', -1, 64))
	}
	s.Default = d.def
	if d.maxLength > 0 {
		s.MaxLength = new(uint64(d.maxLength))
	}
	if d.minItems > 0 {
		s.MinItems = new(uint64(d.minItems))
	}
	if d.maxItems > 0 {
		s.MaxItems = new(uint64(d.maxItems))
	}
}

// outputSchema is the schema of a result type, cut down to the fields keep
// names, with their names and types only. The model reads a result's text;
// every byte of tools/list costs context in every conversation.
func outputSchema(v any, keep ...string) json.RawMessage {
	s := reflectSchema(v)
	for pair := s.Properties.Oldest(); pair != nil; {
		next := pair.Next()
		if !slices.Contains(keep, pair.Key) {
			s.Properties.Delete(pair.Key)
		}
		pair = next
	}
	s.Required = slices.DeleteFunc(s.Required, func(name string) bool { return !slices.Contains(keep, name) })
	s.AdditionalProperties = nil // results may grow fields; clients need not reject them
	var strip func(*jsonschema.Schema)
	strip = func(s *jsonschema.Schema) {
		s.Description = ""
		if s.Items != nil {
			strip(s.Items)
		}
		if s.Properties == nil {
			return
		}
		s.AdditionalProperties = nil
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			strip(pair.Value)
		}
	}
	strip(s)
	return marshalSchema(s)
}

func reflectSchema(v any) *jsonschema.Schema {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}
	s := r.Reflect(v)
	s.Version = ""
	if s.Required == nil {
		s.Required = []string{} // clients reject "required": null
	}
	return s
}

func marshalSchema(s *jsonschema.Schema) json.RawMessage {
	raw, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: schema: %v", err)) // a programming error, caught by every test
	}
	return raw
}

// rawArguments is a call's arguments as the client sent them.
func rawArguments(req mcp.CallToolRequest) json.RawMessage {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments
	}
	switch a := req.Params.Arguments.(type) {
	case json.RawMessage:
		return a
	case nil:
		return nil
	}
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return []byte("0") // not an object: bindArgs says so
	}
	return raw
}

// bindArgs decodes a tool call's arguments into args, refusing unknown
// arguments (names must match exactly) and wrong types with errors that name
// the argument and say what it takes (the agent reads them and tries again).
// An integer argument takes any JSON spelling of a whole number (3, 3.0,
// 30e-1), as JSON Schema's "integer" does.
func bindArgs(raw json.RawMessage, args any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = []byte("{}")
	}
	var given map[string]json.RawMessage
	if err := json.Unmarshal(raw, &given); err != nil {
		return &dashscope.FieldError{Field: "arguments", Problem: "must be a JSON object of named arguments"}
	}
	fields := argFields(args)
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	var unknown []error
	for name := range given {
		if !slices.Contains(names, name) {
			unknown = append(unknown, &dashscope.FieldError{Field: name, Problem: "is not an argument of this tool; it takes " + strings.Join(names, ", ")})
		}
	}
	if len(unknown) > 0 {
		slices.SortFunc(unknown, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return errors.Join(unknown...)
	}
	rewritten := false
	for _, f := range fields {
		v, ok := given[f.name]
		if !ok || !isInteger(f.typ) {
			continue
		}
		lit, err := integerLiteral(v)
		if err != nil {
			return &dashscope.FieldError{Field: f.name, Problem: err.Error()}
		}
		if !bytes.Equal(lit, v) {
			given[f.name], rewritten = lit, true
		}
	}
	if rewritten {
		raw, _ = json.Marshal(given) // values that were just decoded always encode
	}
	err := json.Unmarshal(raw, args)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if i := strings.LastIndex(field, "."); i >= 0 {
			field = field[i+1:]
		}
		return &dashscope.FieldError{Field: field, Problem: fmt.Sprintf("must be %s, not a JSON %s", jsonKind(typeErr.Type), typeErr.Value)}
	}
	return &dashscope.FieldError{Field: "arguments", Problem: err.Error()}
}

// jsonKind names the JSON type a Go type is read from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	}
	return "a JSON " + t.Kind().String()
}

// argField is one argument of an args type: its JSON name and Go type.
type argField struct {
	name string
	typ  reflect.Type
}

// argFields lists an args type's arguments in order, embedded ones included.
func argFields(args any) []argField {
	var fields []argField
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case f.Anonymous && name == "":
				walk(f.Type)
			case name != "" && name != "-" && !slices.ContainsFunc(fields, func(a argField) bool { return a.name == name }):
				fields = append(fields, argField{name, f.Type})
			}
		}
	}
	walk(reflect.TypeOf(args))
	return fields
}

// isInteger reports whether an argument of type t is read from a JSON integer.
func isInteger(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// integerLiteral rewrites a JSON number that is a whole number, however it
// is spelled (3.0, 3e0, 30e-1, -0.0), as a plain integer. It works on the
// decimal digits, so the value is exact at any size and never rounded
// through float64. Anything that is not a number is returned as it is, for
// the decoder to name its type.
func integerLiteral(v json.RawMessage) (json.RawMessage, error) {
	num := string(bytes.TrimSpace(v))
	if num == "" || (num[0] != '-' && (num[0] < '0' || num[0] > '9')) {
		return v, nil
	}
	notWhole := fmt.Errorf("must be an integer, not %s", num)
	outOfRange := fmt.Errorf("is out of range: %s", num)
	mant, e, hasExp := strings.Cut(strings.ToLower(strings.TrimPrefix(num, "-")), "e")
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return json.RawMessage("0"), nil // zero, whatever its exponent
	}
	exp := 0
	if hasExp {
		// An exponent beyond 32 bits outweighs every digit a message can hold.
		n, err := strconv.ParseInt(e, 10, 32)
		switch {
		case err != nil && strings.HasPrefix(e, "-"):
			return nil, notWhole
		case err != nil:
			return nil, outOfRange
		}
		exp = int(n)
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed) - len(frac)
	switch {
	case exp < 0:
		return nil, notWhole
	case len(trimmed)+exp > 19: // more digits than any int64 has
		return nil, outOfRange
	}
	lit := trimmed + strings.Repeat("0", exp)
	if strings.HasPrefix(num, "-") {
		lit = "-" + lit
	}
	if _, err := strconv.ParseInt(lit, 10, 64); err != nil {
		return nil, outOfRange
	}
	return json.RawMessage(lit), nil
}
