// The campaign page's chart of calls over time: a stacked bar per slot of time, one band
// per outcome, drawn as SVG through the DOM (counts and names are never markup).
"use strict";

window.CallChart = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 600;
  const HEIGHT = 150;
  const AXIS = 18; // room under the bars for the times
  const COLOURS = {
    human: "#2a7", answered: "#4a8", machine: "#86c", unknown: "#999",
    no_answer: "#db3", busy: "#e83", rejected: "#c55", failed: "#a33", cancelled: "#bbb",
  };

  function element(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const clock = (at) => new Date(at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const order = (kinds) => [...kinds].sort((a, b) => rank(a) - rank(b));
  const rank = (kind) => (kind in COLOURS ? Object.keys(COLOURS).indexOf(kind) : 99);

  function draw(svg, legend, timeline) {
    const slots = timeline.slots;
    const totals = slots.map((slot) => Object.values(slot.calls).reduce((a, b) => a + b, 0));
    const most = Math.max(1, ...totals);
    const width = WIDTH / Math.max(1, slots.length);
    const kinds = new Set();
    const bars = slots.flatMap((slot, index) => {
      let top = HEIGHT - AXIS;
      return order(Object.keys(slot.calls)).map((kind) => {
        const count = slot.calls[kind];
        const height = ((HEIGHT - AXIS - 4) * count) / most;
        top -= height;
        kinds.add(kind);
        const bar = element("rect", {
          x: index * width + 1, y: top, width: Math.max(1, width - 2), height,
          fill: COLOURS[kind] || "#555", "data-kind": kind, "data-count": count,
        });
        bar.append(element("title", {}, `${clock(slot.at)}: ${count} ${kind.replace("_", " ")}`));
        return bar;
      });
    });
    const labels = slots.length ? [
      element("text", { x: 0, y: HEIGHT - 4, "font-size": 11 }, clock(slots[0].at)),
      element("text", { x: WIDTH, y: HEIGHT - 4, "font-size": 11, "text-anchor": "end" },
        `${clock(slots[slots.length - 1].at)} (bars of ${timeline.slot_s} s)`),
    ] : [element("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle" }, "no calls have ended yet")];
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.dataset.calls = String(totals.reduce((a, b) => a + b, 0));
    svg.replaceChildren(element("line", { x1: 0, x2: WIDTH, y1: HEIGHT - AXIS, y2: HEIGHT - AXIS, stroke: "#ccc" }),
      ...bars, ...labels);
    legend.replaceChildren(...order(kinds).map((kind) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = COLOURS[kind] || "#555";
      item.append(swatch, ` ${kind.replace("_", " ")}`);
      return item;
    }));
  }

  return { draw };
})();
