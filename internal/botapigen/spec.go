package botapigen

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Spec is the trimmed, machine-readable Bot API description the generator
// reads: names, kinds, types, required flags, return types and union
// discriminators, and Telegram's descriptions of them.
type Spec struct {
	Version     string   `json:"version"`      // the Bot API version, e.g. "Bot API 10.1"
	ReleaseDate string   `json:"release_date"` // the release date of that version
	Changelog   string   `json:"changelog"`    // the link to its changelog entry
	Methods     []Method `json:"methods"`      // every method, in the docs' order
	Types       []Type   `json:"types"`        // every type, in the docs' order
}

// Method is one Bot API method.
type Method struct {
	Name    string   `json:"name"`             // e.g. "sendMessage"
	Returns []string `json:"returns"`          // the result's type names; several for "Message or True"
	Params  []Field  `json:"params,omitempty"` // the parameters, none for getMe and the like
	// Source notes where an entry newer than the source spec was taken from.
	Source string `json:"source,omitempty"`
	// Description is Telegram's text for the method, one paragraph or list
	// item ("- Name") a line.
	Description []string `json:"description,omitempty"`
}

// Type is one Bot API type: a struct (Fields), a union (Subtypes), or an
// empty object (neither).
type Type struct {
	Name      string   `json:"name"`                 // e.g. "Message"
	Fields    []Field  `json:"fields,omitempty"`     // the fields of a struct
	Subtypes  []string `json:"subtypes,omitempty"`   // the members of a union
	SubtypeOf []string `json:"subtype_of,omitempty"` // the unions this type is a member of
	Source    string   `json:"source,omitempty"`     // where an entry newer than the source spec was taken from
	// Description is Telegram's text for the type, one paragraph or list
	// item ("- Name") a line.
	Description []string `json:"description,omitempty"`
}

// Field is a field of a type or a parameter of a method.
type Field struct {
	Name     string   `json:"name"`               // e.g. "chat_id"
	Types    []string `json:"types"`              // the accepted type names, e.g. ["Integer", "String"]
	Required bool     `json:"required,omitempty"` // false for an "Optional." field or parameter
	// Const is the fixed value of a union discriminator ("photo" for
	// InputMediaPhoto.type), taken from the description's "always \"x\"" or
	// "must be x".
	Const  string `json:"const,omitempty"`
	Source string `json:"source,omitempty"` // where an entry newer than the source spec was taken from
	// Changed marks an addition that replaces the field of the same name
	// (a new type, required flag or description) instead of adding one.
	Changed bool `json:"changed,omitempty"`
	// Description is Telegram's text for the field, without the leading
	// "Optional. ": the generated doc comment, and what the override table
	// scans for meaningful zero values.
	Description string `json:"description,omitempty"`
}

//go:embed spec.json
var specJSON []byte

//go:embed spec_additions.json
var additionsJSON []byte

// Additions holds methods, types and fields newer than the trimmed source
// spec, each with a Source note. Fields are added to existing types and
// methods by name.
type Additions struct {
	Version     string             `json:"version"`
	ReleaseDate string             `json:"release_date"`
	Changelog   string             `json:"changelog"`
	Note        string             `json:"note"`
	Methods     []Method           `json:"methods"`
	Types       []Type             `json:"types"`
	Fields      map[string][]Field `json:"fields"`
}

// Load returns the committed trimmed spec merged with the committed additions.
func Load() (*Spec, error) {
	return Parse(specJSON, additionsJSON)
}

// Parse decodes a trimmed spec and merges the additions (which may be nil).
func Parse(spec, additions []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, fmt.Errorf("botapigen: spec: %w", err)
	}
	if len(bytes.TrimSpace(additions)) == 0 {
		return &s, nil
	}
	var a Additions
	if err := json.Unmarshal(additions, &a); err != nil {
		return nil, fmt.Errorf("botapigen: additions: %w", err)
	}
	if a.Version != "" {
		s.Version, s.ReleaseDate, s.Changelog = a.Version, a.ReleaseDate, a.Changelog
	}
	s.Methods = append(s.Methods, a.Methods...)
	s.Types = append(s.Types, a.Types...)
	for _, owner := range sortedKeys(a.Fields) {
		var list *[]Field
		for i := range s.Types {
			if s.Types[i].Name == owner {
				list = &s.Types[i].Fields
			}
		}
		for i := range s.Methods {
			if s.Methods[i].Name == owner {
				list = &s.Methods[i].Params
			}
		}
		if list == nil {
			return nil, fmt.Errorf("botapigen: additions: no type or method %q", owner)
		}
		for _, f := range a.Fields[owner] {
			if err := mergeField(list, f); err != nil {
				return nil, fmt.Errorf("botapigen: additions: %s: %w", owner, err)
			}
		}
	}
	// Union members added later name their union in subtype_of.
	for _, t := range a.Types {
		for _, u := range t.SubtypeOf {
			for i := range s.Types {
				if s.Types[i].Name == u && !contains(s.Types[i].Subtypes, t.Name) {
					s.Types[i].Subtypes = append(s.Types[i].Subtypes, t.Name)
				}
			}
		}
	}
	return &s, nil
}

// mergeField replaces the field of f's name in list when f is Changed, and
// appends f otherwise; either way the other case is an error, so an addition
// cannot silently duplicate or miss a field.
func mergeField(list *[]Field, f Field) error {
	for i := range *list {
		if (*list)[i].Name != f.Name {
			continue
		}
		if !f.Changed {
			return fmt.Errorf("field %s already exists; mark the addition changed", f.Name)
		}
		(*list)[i] = f
		return nil
	}
	if f.Changed {
		return fmt.Errorf("changed field %s does not exist", f.Name)
	}
	*list = append(*list, f)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// source is the schema of the full api.json (PaulSonOfLars/telegram-bot-api-spec).
type sourceField struct {
	Name        string   `json:"name"`
	Types       []string `json:"types"`
	Required    bool     `json:"required"`
	Description string   `json:"description"`
}

type sourceEntry struct {
	Name      string        `json:"name"`
	Href      string        `json:"href"`
	Desc      []string      `json:"description"`
	Returns   []string      `json:"returns"`
	Fields    []sourceField `json:"fields"`
	Subtypes  []string      `json:"subtypes"`
	SubtypeOf []string      `json:"subtype_of"`
}

var (
	alwaysRe = regexp.MustCompile(`(?:always|must be) "?([a-z0-9_]+)"?`)
)

// Trim turns the full api.json into the trimmed spec (the bytes of
// spec.json): it keeps names, kinds, types, required flags, return types and
// subtypes in document order, extracts union discriminator values from the
// descriptions, and keeps the descriptions of methods, types and fields
// (Telegram's text, for the generated doc comments).
func Trim(full []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(full))
	var s Spec
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		switch key {
		case "version":
			err = dec.Decode(&s.Version)
		case "release_date":
			err = dec.Decode(&s.ReleaseDate)
		case "changelog":
			err = dec.Decode(&s.Changelog)
		case "methods", "types":
			err = decodeOrdered(dec, func(e sourceEntry) error {
				if want := "https://core.telegram.org/bots/api#" + strings.ToLower(e.Name); e.Href != want {
					return fmt.Errorf("botapigen: %s: href %q, want %q", e.Name, e.Href, want)
				}
				if key == "methods" {
					s.Methods = append(s.Methods, Method{Name: e.Name, Returns: e.Returns, Params: trimFields(e.Fields, false),
						Description: cleanLines(e.Desc)})
				} else {
					s.Types = append(s.Types, Type{Name: e.Name, Fields: trimFields(e.Fields, len(e.SubtypeOf) > 0),
						Subtypes: e.Subtypes, SubtypeOf: e.SubtypeOf, Description: cleanLines(e.Desc)})
				}
				return nil
			})
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, fmt.Errorf("botapigen: trim %s: %w", key, err)
		}
	}
	return Format(&s), nil
}

func trimFields(fs []sourceField, member bool) []Field {
	out := make([]Field, 0, len(fs))
	for _, f := range fs {
		tf := Field{Name: f.Name, Types: f.Types, Required: f.Required, Description: cleanDescription(f.Description)}
		if member && f.Required && (f.Name == "type" || f.Name == "status" || f.Name == "source") && len(f.Types) == 1 && f.Types[0] == "String" {
			if m := alwaysRe.FindStringSubmatch(f.Description); m != nil {
				tf.Const = m[1]
			}
		}
		out = append(out, tf)
	}
	return out
}

// cleanDescription drops the "Optional. " every optional field's text starts
// with (the required flag says it) and folds runs of white space.
func cleanDescription(d string) string {
	d = strings.Join(strings.Fields(d), " ")
	return strings.TrimPrefix(d, "Optional. ")
}

// cleanLines folds the white space of each line of a description and drops
// empty lines.
func cleanLines(ls []string) []string {
	var out []string
	for _, l := range ls {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("botapigen: want %v, got %v", d, tok)
	}
	return nil
}

func decodeOrdered(dec *json.Decoder, f func(sourceEntry) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return err
		}
		var e sourceEntry
		if err := dec.Decode(&e); err != nil {
			return err
		}
		if err := f(e); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// Format writes a spec as reviewable JSON: one method or type per block,
// one field per line.
func Format(s *Spec) []byte {
	var b bytes.Buffer
	line := func(v any) string {
		var j bytes.Buffer
		enc := json.NewEncoder(&j)
		enc.SetEscapeHTML(false) // descriptions keep their <, > and & readable
		if err := enc.Encode(v); err != nil {
			panic(err) // plain data; cannot fail
		}
		return strings.TrimSuffix(j.String(), "\n")
	}
	fmt.Fprintf(&b, "{\n\"version\": %s,\n\"release_date\": %s,\n\"changelog\": %s,\n", line(s.Version), line(s.ReleaseDate), line(s.Changelog))
	b.WriteString("\"methods\": [\n")
	for i, m := range s.Methods {
		fmt.Fprintf(&b, "{\"name\": %s, \"returns\": %s", line(m.Name), line(m.Returns))
		if m.Source != "" {
			fmt.Fprintf(&b, ", \"source\": %s", line(m.Source))
		}
		if len(m.Description) > 0 {
			fmt.Fprintf(&b, ",\n \"description\": %s", line(m.Description))
		}
		writeFields(&b, "params", m.Params, line)
		b.WriteString("}")
		if i < len(s.Methods)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("],\n\"types\": [\n")
	for i, t := range s.Types {
		fmt.Fprintf(&b, "{\"name\": %s", line(t.Name))
		if len(t.Subtypes) > 0 {
			fmt.Fprintf(&b, ", \"subtypes\": %s", line(t.Subtypes))
		}
		if len(t.SubtypeOf) > 0 {
			fmt.Fprintf(&b, ", \"subtype_of\": %s", line(t.SubtypeOf))
		}
		if t.Source != "" {
			fmt.Fprintf(&b, ", \"source\": %s", line(t.Source))
		}
		if len(t.Description) > 0 {
			fmt.Fprintf(&b, ",\n \"description\": %s", line(t.Description))
		}
		writeFields(&b, "fields", t.Fields, line)
		b.WriteString("}")
		if i < len(s.Types)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]\n}\n")
	return b.Bytes()
}

func writeFields(b *bytes.Buffer, key string, fs []Field, line func(any) string) {
	if len(fs) == 0 {
		return
	}
	fmt.Fprintf(b, ", %q: [\n", key)
	for j, f := range fs {
		b.WriteString("  " + line(f))
		if j < len(fs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]")
}
