package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// schemaOf generates the JSON Schema of an args type from its struct tags:
// one flat object with types, enums, ranges, defaults and descriptions, no
// $refs, and no other properties allowed.
func schemaOf(v any) json.RawMessage {
	return reflectSchema(v, true)
}

// outputSchemaOf is schemaOf without descriptions: the model reads results'
// field names and their text, and every byte of tools/list costs context.
func outputSchemaOf(v any) json.RawMessage {
	return reflectSchema(v, false)
}

// localNote ends every URL argument's description.
const localNote = " Or a local file path."

func reflectSchema(v any, describe bool) json.RawMessage {
	r := jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}
	s := r.Reflect(v)
	s.Version = ""
	var strip func(*jsonschema.Schema)
	strip = func(s *jsonschema.Schema) {
		if s.Properties == nil {
			return
		}
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			switch {
			case !describe:
				pair.Value.Description = ""
			case pair.Value.Description == "":
				pair.Value.Description = dashscope.FieldDescription(pair.Key)
			}
			if describe && strings.HasSuffix(pair.Key, "_url") {
				pair.Value.Description += localNote
			}
			if pair.Value.Items != nil {
				strip(pair.Value.Items)
			}
			if !describe && pair.Value.Properties != nil {
				pair.Value.AdditionalProperties = nil
				strip(pair.Value)
			}
		}
	}
	strip(s)
	if !describe {
		s.AdditionalProperties = nil // results may grow fields; clients need not reject them
	}
	if s.Required == nil {
		s.Required = []string{} // clients reject "required": null
	}
	raw, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tools: schema of %T: %v", v, err)) // a programming error, caught by every test
	}
	return raw
}

// bindArgs decodes a tool call's arguments into args, refusing unknown
// arguments and wrong types with errors that name the argument and say what
// it takes (the agent reads them and tries again).
func bindArgs(req mcp.CallToolRequest, args any) error {
	raw, err := json.Marshal(req.GetRawArguments())
	if err != nil {
		return &dashscope.FieldError{Field: "arguments", Problem: "not a JSON object"}
	}
	if bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(args)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field == "" {
		return &dashscope.FieldError{Field: "arguments", Problem: "must be a JSON object of named arguments"}
	}
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if i := strings.LastIndex(field, "."); i >= 0 {
			field = field[i+1:]
		}
		return &dashscope.FieldError{Field: field, Problem: fmt.Sprintf("must be %s, not a JSON %s", jsonKind(typeErr.Type), typeErr.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return &dashscope.FieldError{Field: name, Problem: "is not an argument of this tool; it takes " + strings.Join(argNames(args), ", ")}
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

// argNames lists the JSON names of an args type's fields, embedded ones included.
func argNames(args any) []string {
	var names []string
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
			case name != "" && name != "-":
				names = append(names, name)
			}
		}
	}
	walk(reflect.TypeOf(args))
	return slices.Compact(names)
}
