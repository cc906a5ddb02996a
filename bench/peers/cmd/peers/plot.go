package main

import (
	"fmt"
	"math"
	"strings"
)

// Plot geometry and the colour of each engine, in order of appearance.
const (
	plotW, panelH, barW = 880, 260, 18
	left, top, gap      = 70, 40, 70
	legendW             = 250 // the legend's column, right of the bars
)

var colours = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"}

// plot draws the run as SVG: HTTP throughput by engine and connections,
// and in-process CPU time per warm decision by engine and policy size (a
// log scale: the engines differ by orders of magnitude).
func plot(wrk map[string][]wrkResult, order []string, in map[inprocKey][]inprocResult, inOrder []inprocKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", plotW, top+2*panelH+gap+top)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	conns, engines := httpRuns(order)
	var groups []string
	var values [][]float64
	for _, c := range conns {
		groups = append(groups, fmt.Sprintf("%d connections", c))
		row := make([]float64, len(engines))
		for i, e := range engines {
			row[i] = medianWrk(wrk[httpName(e, c)]).rps
		}
		values = append(values, row)
	}
	bars(&b, top, "Over HTTP: requests per second (higher is better)", groups, engines, values, false)
	sizes, inEngines := inprocEngines(inOrder)
	groups, values = nil, nil
	for _, n := range sizes {
		groups = append(groups, fmt.Sprintf("%s policy lines", thousands(float64(n))))
		row := make([]float64, len(inEngines))
		for i, e := range inEngines {
			row[i] = median(in[inprocKey{n, e, "warm"}], func(r inprocResult) float64 { return r.cpu })
		}
		values = append(values, row)
	}
	bars(&b, top+panelH+gap, "In process: CPU per warm decision, log scale (lower is better)", groups, inEngines, values, true)
	b.WriteString("</svg>\n")
	return b.String()
}

// bars draws one panel of grouped bars with a legend.
func bars(b *strings.Builder, y0 int, title string, groups, series []string, values [][]float64, logScale bool) {
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", left, y0-12, title)
	maxV, minV := 0.0, math.Inf(1)
	for _, row := range values {
		for _, v := range row {
			maxV = math.Max(maxV, v)
			if v > 0 {
				minV = math.Min(minV, v)
			}
		}
	}
	if maxV == 0 {
		return
	}
	lo, hi := 0.0, maxV*1.1
	if logScale {
		lo, hi = math.Floor(math.Log10(minV)), math.Ceil(math.Log10(maxV))
	}
	scale := func(v float64) float64 {
		if logScale {
			if v <= 0 {
				return 0
			}
			v = math.Log10(v)
		}
		return float64(panelH) * (v - lo) / (hi - lo)
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, y0, left, y0+panelH)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, y0+panelH, plotW-legendW, y0+panelH)
	for _, tick := range ticks(lo, hi, logScale) {
		y := float64(y0+panelH) - scale(tick)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, y, plotW-legendW, y, left-4, y+4, label(tick, logScale))
	}
	groupW := (plotW - 180 - left) / max(len(groups), 1)
	for g, row := range values {
		x0 := left + g*groupW + (groupW-len(row)*barW)/2
		for s, v := range row {
			h := scale(v)
			fmt.Fprintf(b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`+"\n",
				x0+s*barW, float64(y0+panelH)-h, barW-2, h, colours[s%len(colours)], series[s], groups[g], label(v, logScale))
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+g*groupW+groupW/2, y0+panelH+16, groups[g])
	}
	for s, name := range series {
		y := y0 + 10 + s*18
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			plotW-legendW+10, y, colours[s%len(colours)], plotW-legendW+28, y+10, name)
	}
}

func ticks(lo, hi float64, logScale bool) []float64 {
	var out []float64
	if logScale {
		for e := lo; e <= hi; e++ {
			out = append(out, math.Pow(10, e))
		}
		return out
	}
	step := math.Pow(10, math.Floor(math.Log10(hi/4)))
	for _, m := range []float64{1, 2, 5} {
		if hi/(step*m) <= 6 {
			step *= m
			break
		}
	}
	for v := 0.0; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}

func label(v float64, ns bool) string {
	if ns {
		return strings.NewReplacer(".00 ", " ", ".0 ", " ").Replace(fmtNs(v))
	}
	return thousands(v)
}
