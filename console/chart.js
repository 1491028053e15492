// A small live line chart drawn as inline SVG: one polyline per series, the latest value
// of each in the legend, the y range from 0 to the largest value shown.
const NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#2457c5", "#c62828", "#1a7f37", "#b35900", "#6a1b9a", "#00838f", "#5d4037"];
const W = 600, H = 160, PAD = 28;

export class LineChart {
  constructor(host, { title, unit = "", keep = 90 }) {
    this.unit = unit;
    this.keep = keep;
    this.series = new Map(); // name -> [[t, v], ...]
    host.innerHTML = `<h3>${title}</h3><svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none"></svg><div class="legend"></div>`;
    this.svg = host.querySelector("svg");
    this.legend = host.querySelector(".legend");
  }

  push(t, values) {
    for (const [name, v] of Object.entries(values)) {
      if (!this.series.has(name)) this.series.set(name, []);
      const points = this.series.get(name);
      points.push([t, v]);
      if (points.length > this.keep) points.shift();
    }
    this.draw();
  }

  draw() {
    const all = [...this.series.values()].flat().filter(([, v]) => v !== null);
    if (!all.length) return;
    const t0 = Math.min(...all.map(([t]) => t)), t1 = Math.max(...all.map(([t]) => t));
    const top = Math.max(1, ...all.map(([, v]) => v));
    const x = (t) => PAD + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD - 4);
    const y = (v) => H - 14 - (v / top) * (H - 24);
    this.svg.replaceChildren();
    for (const [label, at] of [[fmt(top), 12], ["0", H - 12]]) {
      const text = document.createElementNS(NS, "text");
      text.setAttribute("x", "2");
      text.setAttribute("y", String(at));
      text.textContent = label;
      this.svg.append(text);
    }
    const legend = [];
    [...this.series.entries()].forEach(([name, points], i) => {
      const colour = COLOURS[i % COLOURS.length];
      const line = document.createElementNS(NS, "polyline");
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", colour);
      line.setAttribute("stroke-width", "2");
      line.setAttribute("vector-effect", "non-scaling-stroke");
      line.setAttribute("points", points.filter(([, v]) => v !== null).map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
      line.dataset.series = name;
      this.svg.append(line);
      const last = points.length ? points[points.length - 1][1] : null;
      legend.push(`<span data-series="${name}"><i style="background:${colour}"></i>${name}: <b>${last === null ? "–" : fmt(last)}</b>${this.unit}</span>`);
    });
    this.legend.innerHTML = legend.join("");
  }
}

function fmt(v) {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}
