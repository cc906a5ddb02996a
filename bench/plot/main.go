// Command plot draws docs/performance.md's figures as SVG, from the output
// of the benchmarks and of bench/load.sh's concurrency sweep:
//
//	go test -run='^$' -bench='DecideUncached|CasbinEnforce' ./bench/ > decide.txt
//	CONCURRENCY_SWEEP="1 4 16 64 256" bench/load.sh > load.txt
//	go run ./bench/plot -decide decide.txt -load load.txt -out docs
//
// It writes decision-latency.svg (CPU time of a decision against policy
// size, log-log) and throughput.svg (GET /me/ req/s against connections).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	decide := flag.String("decide", "", "go test -bench output with BenchmarkDecideUncached and BenchmarkCasbinEnforce")
	load := flag.String("load", "", "bench/load.sh output with RESULT lines named \"c=N <server>\"")
	out := flag.String("out", "docs", "folder for the SVG files")
	flag.Parse()
	if *decide != "" {
		series, err := readBench(*decide)
		if err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*out, "decision-latency.svg"), chart{
			title: "Decision CPU time against policy size", xlabel: "rules (10 per resource type)", ylabel: "µs per decision",
			logX: true, logY: true, series: series,
		})
	}
	if *load != "" {
		series, err := readLoad(*load)
		if err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*out, "throughput.svg"), chart{
			title: "GET /me/ throughput against concurrency", xlabel: "wrk connections", ylabel: "req/s",
			logX: true, series: series,
		})
	}
}

type point struct{ x, y float64 }

type series struct {
	name   string
	points []point
}

var benchLine = regexp.MustCompile(`^Benchmark(DecideUncached|CasbinEnforce)/rules=(\d+)/(allow|deny)-\d+\s.*?([\d.]+) cpu-ns/op`)

// readBench takes the median cpu-ns/op of each benchmark and size, in µs.
func readBench(file string) ([]series, error) {
	values := map[string]map[float64][]float64{}
	err := eachLine(file, func(line string) {
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			return
		}
		name := map[string]string{"DecideUncached": "rolegate Decide", "CasbinEnforce": "plain Casbin"}[m[1]] + " " + m[3]
		size, _ := strconv.ParseFloat(m[2], 64)
		ns, _ := strconv.ParseFloat(m[4], 64)
		if values[name] == nil {
			values[name] = map[float64][]float64{}
		}
		values[name][size] = append(values[name][size], ns/1000)
	})
	return toSeries(values), err
}

var resultLine = regexp.MustCompile(`^RESULT c=(\d+) (.+?)\t([\d.]+)\t`)

func readLoad(file string) ([]series, error) {
	values := map[string]map[float64][]float64{}
	err := eachLine(file, func(line string) {
		m := resultLine.FindStringSubmatch(line)
		if m == nil {
			return
		}
		c, _ := strconv.ParseFloat(m[1], 64)
		rps, _ := strconv.ParseFloat(m[3], 64)
		if values[m[2]] == nil {
			values[m[2]] = map[float64][]float64{}
		}
		values[m[2]][c] = append(values[m[2]][c], rps)
	})
	return toSeries(values), err
}

func eachLine(file string, fn func(string)) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(sc.Text())
	}
	return sc.Err()
}

// toSeries takes the median of each point's values, sorted by name and x.
func toSeries(values map[string]map[float64][]float64) []series {
	var out []series
	for name, byX := range values {
		s := series{name: name}
		for x, ys := range byX {
			slices.Sort(ys)
			s.points = append(s.points, point{x, ys[len(ys)/2]})
		}
		slices.SortFunc(s.points, func(a, b point) int { return int(a.x - b.x) })
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b series) int { return strings.Compare(a.name, b.name) })
	return out
}

type chart struct {
	title, xlabel, ylabel string
	logX, logY            bool
	series                []series
}

var colors = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

const (
	width, height                    = 720, 440
	left, right, top, bottom         = 80, 200, 40, 60
	plotW, plotH                     = width - left - right, height - top - bottom
	svgHeader                        = `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">` + "\n"
	background                       = `<rect width="100%" height="100%" fill="white"/>` + "\n"
	minPositive              float64 = 1e-9
)

func write(path string, c chart) {
	if err := os.WriteFile(path, []byte(c.svg()), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", path)
}

func (c chart) svg() string {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.series {
		for _, p := range s.points {
			xmin, xmax = math.Min(xmin, p.x), math.Max(xmax, p.x)
			ymin, ymax = math.Min(ymin, p.y), math.Max(ymax, p.y)
		}
	}
	if !c.logY {
		ymin = 0
	}
	sx := scale(xmin, xmax, c.logX, left, left+plotW)
	sy := scale(ymin, ymax*1.05, c.logY, top+plotH, top)
	var b strings.Builder
	fmt.Fprintf(&b, svgHeader, width, height)
	b.WriteString(background)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15">%s</text>`+"\n", left, c.title)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", left, top, plotW, plotH)
	for _, t := range ticks(xmin, xmax, c.logX) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", sx(t), top+plotH+16, label(t))
	}
	for _, t := range ticks(ymin, ymax, c.logY) {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, left+plotW, sy(t), sy(t), left-6, sy(t)+4, label(t))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+plotW/2, height-18, c.xlabel)
	fmt.Fprintf(&b, `<text transform="translate(18 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", top+plotH/2, c.ylabel)
	for i, s := range c.series {
		color := colors[i%len(colors)]
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(p.x), sy(p.y)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", sx(p.x), sy(p.y), color)
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			left+plotW+12, top+i*20, color, left+plotW+30, top+i*20+10, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// scale maps [lo, hi] to [from, to], on a log scale if asked.
func scale(lo, hi float64, logScale bool, from, to int) func(float64) float64 {
	f := func(v float64) float64 { return v }
	if logScale {
		f = func(v float64) float64 { return math.Log10(math.Max(v, minPositive)) }
	}
	a, z := f(lo), f(hi)
	if z == a {
		z = a + 1
	}
	return func(v float64) float64 { return float64(from) + (f(v)-a)/(z-a)*float64(to-from) }
}

func ticks(lo, hi float64, logScale bool) []float64 {
	var out []float64
	if logScale {
		for p := math.Floor(math.Log10(math.Max(lo, minPositive))); p <= math.Ceil(math.Log10(hi)); p++ {
			if v := math.Pow(10, p); v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, v)
			}
		}
		if len(out) < 2 {
			out = append(out, lo, hi)
		}
		return out
	}
	step := math.Pow(10, math.Floor(math.Log10(hi/4)))
	for v := 0.0; v <= hi*1.001; v += step * math.Ceil(hi/step/5) {
		out = append(out, v)
	}
	return out
}

func label(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
