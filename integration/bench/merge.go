package main

import (
	"fmt"
	"reflect"
)

// mergeResults joins saved results into one: the first is the headline,
// and a later result of the same network (nodes, seed, RTT range) fills
// the figures the headline lacks (a run of one side with --skip-kad and
// one with --skip-ours); the size points of all results are joined the
// same way by network size, for the plot. Ratios are computed again.
func mergeResults(rs []*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("bench: no results to merge")
	}
	out := *rs[0]
	out.Sizes = nil
	out.Missing = nil
	for _, r := range rs[1:] {
		if r.Nodes == out.Nodes && r.Seed == out.Seed && r.RTTMinMs == out.RTTMinMs && r.RTTMaxMs == out.RTTMaxMs {
			fillNil(reflect.ValueOf(&out).Elem(), reflect.ValueOf(r).Elem())
		}
	}
	byNodes := map[int]int{}
	for _, r := range rs {
		for _, s := range r.Sizes {
			k, ok := byNodes[s.Nodes]
			if !ok {
				byNodes[s.Nodes] = len(out.Sizes)
				out.Sizes = append(out.Sizes, s)
				continue
			}
			fillNil(reflect.ValueOf(&out.Sizes[k]).Elem(), reflect.ValueOf(&s).Elem())
		}
	}
	out.sortSizes()
	for _, r := range rs {
		out.Missing = append(out.Missing, r.Missing...)
	}
	out.finish()
	return &out, nil
}

// fillNil sets every nil pointer field and empty string field of dst (a
// struct) that src has.
func fillNil(dst, src reflect.Value) {
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Field(i)
		empty := (f.Kind() == reflect.Pointer && f.IsNil()) || (f.Kind() == reflect.String && f.Len() == 0)
		if empty && f.CanSet() {
			f.Set(src.Field(i))
		}
	}
}
