package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// upload is one file part of a multipart request.
type upload struct {
	part     string // attach name, "file0", "file1", ...
	filename string
	r        io.Reader
}

var (
	inputFileType = reflect.TypeFor[InputFile]()
	readerIndex   = func() int {
		f, _ := inputFileType.FieldByName("Reader")
		return f.Index[0]
	}()
)

// typePlan caches, per type, whether and where a value of the type can hold
// an InputFile. For a struct, fields lists the indexes of the exported fields
// that can; an interface can hold anything, so it is checked at run time.
type typePlan struct {
	may    bool
	fields []int
}

var plans sync.Map // reflect.Type → *typePlan

func planOf(t reflect.Type) *typePlan {
	if p, ok := plans.Load(t); ok {
		return p.(*typePlan)
	}
	p := computePlan(t, map[reflect.Type]bool{})
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*typePlan)
}

func computePlan(t reflect.Type, visiting map[reflect.Type]bool) *typePlan {
	if t == inputFileType {
		return &typePlan{may: true}
	}
	if p, ok := plans.Load(t); ok {
		return p.(*typePlan)
	}
	if visiting[t] { // a recursive type: the outer call decides
		return &typePlan{}
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Interface:
		return &typePlan{may: true}
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return &typePlan{may: computePlan(t.Elem(), visiting).may}
	case reflect.Struct:
		p := &typePlan{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			if computePlan(f.Type, visiting).may {
				p.fields = append(p.fields, i)
			}
		}
		p.may = len(p.fields) > 0
		return p
	}
	return &typePlan{}
}

// prepareUploads finds the uploads in params. When there are any, it returns
// them with a copy of params in which each upload's InputFile carries its
// part name; the caller's value is never modified. On sendMessage and other
// calls without a file the walk costs a few cached lookups.
func prepareUploads(params any) ([]upload, any, error) {
	if params == nil {
		return nil, params, nil
	}
	v := reflect.ValueOf(params)
	if !planOf(v.Type()).may {
		return nil, params, nil
	}
	var s scanner
	nv, changed := s.rewrite(v)
	if s.err != nil {
		return nil, nil, s.err
	}
	if !changed {
		return nil, params, nil
	}
	return s.uploads, nv.Interface(), nil
}

type scanner struct {
	uploads []upload
	err     error
	depth   int
}

// rewrite returns a copy of v with attach names set on its uploads, and
// whether there were any. Values without uploads are returned as they are.
func (s *scanner) rewrite(v reflect.Value) (reflect.Value, bool) {
	if s.err != nil {
		return v, false
	}
	t := v.Type()
	if t == inputFileType {
		if v.Field(readerIndex).IsNil() { // checked without v.Interface(), which allocates
			return v, false
		}
		f := v.Interface().(InputFile)
		f.attach = "file" + strconv.Itoa(len(s.uploads))
		name := f.Name
		s.uploads = append(s.uploads, upload{part: f.attach, filename: name, r: f.Reader})
		return reflect.ValueOf(f), true
	}
	if !planOf(t).may {
		return v, false
	}
	s.depth++
	defer func() { s.depth-- }()
	if s.depth > 32 {
		s.err = errors.New("botapi: parameters nested too deeply")
		return v, false
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v, false
		}
		nv, ok := s.rewrite(v.Elem())
		if !ok {
			return v, false
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(nv)
		return p, true
	case reflect.Interface:
		if v.IsNil() {
			return v, false
		}
		nv, ok := s.rewrite(v.Elem())
		if !ok {
			return v, false
		}
		iv := reflect.New(t).Elem()
		iv.Set(nv)
		return iv, true
	case reflect.Struct:
		var cp reflect.Value
		for _, i := range planOf(t).fields {
			nf, ok := s.rewrite(v.Field(i))
			if !ok {
				continue
			}
			if !cp.IsValid() {
				cp = reflect.New(t).Elem()
				cp.Set(v)
			}
			cp.Field(i).Set(nf)
		}
		if !cp.IsValid() {
			return v, false
		}
		return cp, true
	case reflect.Slice, reflect.Array:
		var cp reflect.Value
		for i := 0; i < v.Len(); i++ {
			ne, ok := s.rewrite(v.Index(i))
			if !ok {
				continue
			}
			if !cp.IsValid() {
				if v.Kind() == reflect.Slice {
					cp = reflect.MakeSlice(t, v.Len(), v.Len())
					reflect.Copy(cp, v)
				} else {
					cp = reflect.New(t).Elem()
					cp.Set(v)
				}
			}
			cp.Index(i).Set(ne)
		}
		if !cp.IsValid() {
			return v, false
		}
		return cp, true
	case reflect.Map:
		if v.Len() == 0 {
			return v, false
		}
		// Sorted keys, so that part names do not depend on map order.
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return compareStrings(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
		})
		var cp reflect.Value
		for _, k := range keys {
			ne, ok := s.rewrite(v.MapIndex(k))
			if !ok {
				continue
			}
			if !cp.IsValid() {
				cp = reflect.MakeMapWithSize(t, v.Len())
				iter := v.MapRange()
				for iter.Next() {
					cp.SetMapIndex(iter.Key(), iter.Value())
				}
			}
			cp.SetMapIndex(k, ne)
		}
		if !cp.IsValid() {
			return v, false
		}
		return cp, true
	}
	return v, false
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// streamMultipart encodes params (already rewritten by prepareUploads) as
// multipart/form-data, streaming the uploads through a pipe: nothing is
// buffered whole. Top-level fields become form values (strings as they are,
// everything else as JSON); a top-level upload becomes a file part under its
// parameter's name, the usual way; nested uploads become parts named after
// their "attach://" reference.
//
// The returned body must be closed (the HTTP transport does so); closing it
// early stops the writer.
func streamMultipart(params any, uploads []upload) (*multipartBody, error) {
	data, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("parameters with an upload must encode to a JSON object: %w", err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	byPart := make(map[string]int, len(uploads))
	for i, u := range uploads {
		byPart[`"attach://`+u.part+`"`] = i
	}
	type filePart struct {
		field string
		up    upload
	}
	var values [][2]string
	var files []filePart
	used := make([]bool, len(uploads))
	for _, k := range keys {
		raw := fields[k]
		if i, ok := byPart[string(raw)]; ok && !used[i] {
			used[i] = true
			files = append(files, filePart{field: k, up: uploads[i]})
			continue
		}
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			values = append(values, [2]string{k, s})
			continue
		}
		if string(raw) == "null" {
			continue
		}
		values = append(values, [2]string{k, string(raw)})
	}
	for i, u := range uploads {
		if !used[i] {
			files = append(files, filePart{field: u.part, up: u})
		}
	}

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := func() error {
			for _, kv := range values {
				if err := mw.WriteField(kv[0], kv[1]); err != nil {
					return err
				}
			}
			for _, f := range files {
				name := f.up.filename
				if name == "" {
					name = f.field
				}
				w, err := mw.CreateFormFile(f.field, name)
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, f.up.r); err != nil {
					return fmt.Errorf("reading upload %q: %w", name, err)
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	return &multipartBody{pr: pr, contentType: mw.FormDataContentType(), done: done}, nil
}

// multipartBody is one attempt's streamed multipart request body.
type multipartBody struct {
	pr          *io.PipeReader
	contentType string
	done        chan struct{} // closed when the writer goroutine has returned
}

var errAttemptOver = errors.New("botapi: attempt over")

// stop stops the writer goroutine and waits for it, so that nothing reads
// the uploads any more. It stops waiting when ctx ends (a Read of the
// caller's reader may block) and then reports false: the writer ends at its
// next write, after at most the Read in progress.
func (m *multipartBody) stop(ctx context.Context) bool {
	m.pr.CloseWithError(errAttemptOver)
	select {
	case <-m.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// startOffsets returns the current offset of every upload's reader, or nil
// when one of them is not an io.Seeker (the call is then not retried).
func startOffsets(uploads []upload) []int64 {
	offs := make([]int64, len(uploads))
	for i, u := range uploads {
		s, ok := u.r.(io.Seeker)
		if !ok {
			return nil
		}
		off, err := s.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil
		}
		offs[i] = off
	}
	return offs
}

// seekTo moves every upload's reader back to its start offset.
func seekTo(uploads []upload, offs []int64) error {
	for i, u := range uploads {
		if _, err := u.r.(io.Seeker).Seek(offs[i], io.SeekStart); err != nil {
			return err
		}
	}
	return nil
}
