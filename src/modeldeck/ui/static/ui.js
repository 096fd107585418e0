/* modeldeck UI: the little JavaScript it needs, written here (no framework, no CDN).
   md.chart draws line series on a canvas: drag to zoom on x (the page may ask the server
   for that range at full resolution), double-click to reset, hover for values. */
(function () {
  "use strict";
  const COLORS = ["#2f6fde", "#e4572e", "#17a398", "#f2a541", "#8e5ad6", "#c5283d",
    "#3d9970", "#ff7f0e", "#6c757d", "#1f77b4"];

  function nice(span, count) {
    const raw = span / Math.max(count, 1);
    const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    const norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  }
  function ticks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const step = nice(hi - lo, count);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);  // no "-2.78e-17" where 0 is meant
    }
    return out;
  }
  function fmt(v) {
    if (!isFinite(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
    return (Math.round(v * 1e4) / 1e4).toString();
  }
  function extent(series, key, filter) {
    let lo = Infinity, hi = -Infinity;
    for (const s of series) {
      const xs = s.x, vs = s[key];
      for (let i = 0; i < vs.length; i++) {
        const v = vs[i];
        if (v === null || !isFinite(v)) continue;
        if (filter && (xs[i] < filter[0] || xs[i] > filter[1])) continue;
        if (v < lo) lo = v; if (v > hi) hi = v;
      }
    }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    if (key === "y") { const m = (hi - lo) * 0.05; lo -= m; hi += m; }  // points off the edges
    return [lo, hi];
  }

  function chart(el, opts) {
    // drawing again into the same element drops the previous chart's window listeners
    if (el._mdChart) el._mdChart.abort();
    const gone = new AbortController();
    el._mdChart = gone;
    const own = { signal: gone.signal };
    el.classList.add("chart");
    el.innerHTML = "";
    const canvas = document.createElement("canvas");
    const tip = document.createElement("div"); tip.className = "tip";
    const legend = document.createElement("div"); legend.className = "legend";
    const title = document.createElement("div"); title.className = "title";
    title.textContent = opts.title || "";
    el.append(canvas, tip, legend, title);
    let series = opts.series || [];
    let view = null;  // [xmin, xmax] when zoomed
    let drag = null;
    const pad = { l: 56, r: 14, t: 28, b: 30 };

    function drawLegend() {
      // built as nodes: the page's CSP refuses inline style attributes
      legend.replaceChildren();
      series.forEach((s, i) => {
        const mark = document.createElement("span");
        mark.textContent = "■";
        mark.style.color = s.color || COLORS[i % COLORS.length];
        legend.append(...(i ? [" "] : []), mark, " " + String(s.name));
      });
    }
    function frame() {
      const dpr = window.devicePixelRatio || 1;
      const w = el.clientWidth, h = el.clientHeight;
      canvas.width = w * dpr; canvas.height = h * dpr;
      const ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const xr = view || extent(series, "x");
      const yr = extent(series, "y", view);
      const sx = v => pad.l + (v - xr[0]) / (xr[1] - xr[0] || 1) * (w - pad.l - pad.r);
      const sy = v => h - pad.b - (v - yr[0]) / (yr[1] - yr[0] || 1) * (h - pad.t - pad.b);
      return { ctx, w, h, xr, yr, sx, sy };
    }
    function draw() {
      const f = frame(), ctx = f.ctx;
      ctx.clearRect(0, 0, f.w, f.h);
      ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5d6778"; ctx.strokeStyle = "#e6e9ef";
      ctx.lineWidth = 1;
      for (const v of ticks(f.yr[0], f.yr[1], 5)) {
        const y = Math.round(f.sy(v)) + 0.5;
        ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(f.w - pad.r, y); ctx.stroke();
        ctx.textAlign = "right"; ctx.fillText(fmt(v), pad.l - 6, y + 3);
      }
      const xt = opts.xTime ? null : ticks(f.xr[0], f.xr[1], Math.max(2, Math.floor(f.w / 90)));
      for (const v of (xt || timeTicks(f.xr))) {
        const x = Math.round(f.sx(v)) + 0.5;
        ctx.beginPath(); ctx.moveTo(x, pad.t); ctx.lineTo(x, f.h - pad.b); ctx.stroke();
        ctx.textAlign = "center";
        ctx.fillText(opts.xTime ? timeLabel(v, f.xr) : fmt(v), x, f.h - pad.b + 14);
      }
      if (opts.xLabel) { ctx.textAlign = "right"; ctx.fillText(opts.xLabel, f.w - pad.r, f.h - 4); }
      ctx.save();
      ctx.beginPath(); ctx.rect(pad.l, pad.t, f.w - pad.l - pad.r, f.h - pad.t - pad.b); ctx.clip();
      series.forEach((s, i) => {
        ctx.strokeStyle = s.color || COLORS[i % COLORS.length]; ctx.lineWidth = 1.5;
        ctx.beginPath();
        let open = false;
        for (let k = 0; k < s.x.length; k++) {
          const yv = s.y[k];
          if (yv === null || !isFinite(yv)) { open = false; continue; }
          const x = f.sx(s.x[k]), y = f.sy(yv);
          if (!open) { ctx.moveTo(x, y); open = true; } else ctx.lineTo(x, y);
        }
        ctx.stroke();
        if (s.points || s.x.length < 40) {
          ctx.fillStyle = ctx.strokeStyle;
          for (let k = 0; k < s.x.length; k++) {
            if (s.y[k] === null || !isFinite(s.y[k])) continue;
            ctx.beginPath(); ctx.arc(f.sx(s.x[k]), f.sy(s.y[k]), 2.5, 0, 6.3); ctx.fill();
          }
        }
      });
      (opts.lines || []).forEach(line => {
        ctx.strokeStyle = line.color || "#c62828"; ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(pad.l, f.sy(line.y)); ctx.lineTo(f.w - pad.r, f.sy(line.y));
        ctx.stroke(); ctx.setLineDash([]);
      });
      ctx.restore();
      if (drag && drag.x1 !== undefined) {
        ctx.fillStyle = "rgba(47,111,222,.12)";
        ctx.fillRect(Math.min(drag.x0, drag.x1), pad.t, Math.abs(drag.x1 - drag.x0), f.h - pad.t - pad.b);
      }
      el.dataset.drawn = String(series.reduce((n, s) => n + s.x.length, 0));
    }
    function timeTicks(xr) { return ticks(xr[0], xr[1], 6); }
    function timeLabel(v, xr) {  // dates, or hours when the span is under three days
      const iso = new Date(v).toISOString();
      return xr[1] - xr[0] < 3 * 86400000 ? iso.slice(5, 16).replace("T", " ") : iso.slice(0, 10);
    }
    function invert(px) {
      const f = frame();
      return f.xr[0] + (px - pad.l) / (f.w - pad.l - pad.r) * (f.xr[1] - f.xr[0]);
    }
    canvas.addEventListener("mousedown", e => { drag = { x0: e.offsetX }; });
    canvas.addEventListener("mousemove", e => {
      if (drag) { drag.x1 = e.offsetX; draw(); return; }
      const x = invert(e.offsetX);
      const lines = [];
      series.forEach(s => {
        let best = -1, gap = Infinity;
        for (let k = 0; k < s.x.length; k++) {
          const d = Math.abs(s.x[k] - x);
          if (d < gap) { gap = d; best = k; }
        }
        if (best >= 0) lines.push(`${s.name}: ${fmt(s.y[best])} @ ${opts.xTime ? new Date(s.x[best]).toISOString().slice(0, 16) : fmt(s.x[best])}`);
      });
      tip.textContent = lines.join("\n");
      tip.style.display = lines.length ? "block" : "none";
      tip.style.left = Math.min(e.offsetX + 12, el.clientWidth - 220) + "px";
      tip.style.top = (e.offsetY + 12) + "px";
    });
    canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
    window.addEventListener("mouseup", () => {
      if (!drag) return;
      const d = drag; drag = null;
      if (d.x1 === undefined || Math.abs(d.x1 - d.x0) < 5) { draw(); return; }
      const lo = invert(Math.min(d.x0, d.x1)), hi = invert(Math.max(d.x0, d.x1));
      view = [lo, hi];
      if (opts.reload) opts.reload(lo, hi).then(s => { series = s; draw(); }); else draw();
    }, own);
    canvas.addEventListener("dblclick", () => {
      view = null;
      if (opts.reload) opts.reload(null, null).then(s => { series = s; draw(); }); else draw();
    });
    window.addEventListener("resize", draw, own);
    drawLegend(); draw();
    return { update(s) { series = s; drawLegend(); draw(); }, el };
  }

  async function json(url) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (r.status === 401) { location.href = "/ui/signin?next=" + encodeURIComponent(location.pathname + location.search); }
    if (!r.ok) throw new Error(url + ": " + r.status);
    return r.json();
  }

  window.md = { chart, json, fmt, ticks, COLORS };
})();

/* md.scatter(el, {title, points: [{x, y, label, color}], xLabel, yLabel}): one dot per point; x may
   be numbers or text (then each distinct text is a column, in sorted order). Hover names the
   point. Sets el.dataset.drawn to the number of dots. Added for the compare page. */
(function () {
  "use strict";
  const ticks = (lo, hi, count) => window.md.ticks(lo, hi, count);
  function range(values) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (!isFinite(lo)) return [0, 1];
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    const pad = (hi - lo) * 0.06;
    return [lo - pad, hi + pad];
  }

  function scatter(el, opts) {
    if (el._mdChart) el._mdChart.abort();  // as md.chart: one set of window listeners
    const gone = new AbortController();
    el._mdChart = gone;
    const fmt = window.md.fmt;
    el.classList.add("chart");
    el.innerHTML = "";
    const canvas = document.createElement("canvas");
    const tip = document.createElement("div"); tip.className = "tip";
    const title = document.createElement("div"); title.className = "title";
    title.textContent = opts.title || "";
    el.append(canvas, tip, title);
    const raw = (opts.points || []).filter(p => p.y !== null && isFinite(Number(p.y)));
    const numeric = raw.every(p => p.x !== null && p.x !== "" && isFinite(Number(p.x)));
    const cats = numeric ? [] : [...new Set(raw.map(p => String(p.x)))].sort();
    const points = raw.map(p => ({
      x: numeric ? Number(p.x) : cats.indexOf(String(p.x)), y: Number(p.y), label: p.label, raw: p.x,
      color: p.color,
    }));
    const pad = { l: 56, r: 14, t: 28, b: 34 };
    let placed = [];

    function draw() {
      const dpr = window.devicePixelRatio || 1;
      const w = el.clientWidth, h = el.clientHeight;
      canvas.width = w * dpr; canvas.height = h * dpr;
      const ctx = canvas.getContext("2d");
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      const xr = numeric ? range(points.map(p => p.x)) : [-0.5, Math.max(cats.length - 0.5, 0.5)];
      const yr = range(points.map(p => p.y));
      const sx = v => pad.l + (v - xr[0]) / (xr[1] - xr[0]) * (w - pad.l - pad.r);
      const sy = v => h - pad.b - (v - yr[0]) / (yr[1] - yr[0]) * (h - pad.t - pad.b);
      ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#5d6778"; ctx.strokeStyle = "#e6e9ef";
      ctx.lineWidth = 1;
      for (const v of ticks(yr[0], yr[1], 5)) {
        const y = Math.round(sy(v)) + 0.5;
        ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke();
        ctx.textAlign = "right"; ctx.fillText(fmt(v), pad.l - 6, y + 3);
      }
      const xt = numeric ? ticks(xr[0], xr[1], Math.max(2, Math.floor(w / 90))).map(v => [v, fmt(v)])
        : cats.map((c, i) => [i, c.length > 14 ? c.slice(0, 13) + "…" : c]);
      ctx.textAlign = "center";
      for (const [v, text] of xt) {
        const x = Math.round(sx(v)) + 0.5;
        ctx.beginPath(); ctx.moveTo(x, pad.t); ctx.lineTo(x, h - pad.b); ctx.stroke();
        ctx.fillText(text, x, h - pad.b + 14);
      }
      ctx.textAlign = "right";
      if (opts.xLabel) ctx.fillText(opts.xLabel, w - pad.r, h - 4);
      if (opts.yLabel) {
        ctx.save(); ctx.translate(11, (pad.t + h - pad.b) / 2); ctx.rotate(-Math.PI / 2);
        ctx.textAlign = "center"; ctx.fillText(opts.yLabel, 0, 0); ctx.restore();
      }
      placed = points.map((p, i) => {
        const col = p.color || window.md.COLORS[i % window.md.COLORS.length];
        const x = sx(p.x), y = sy(p.y);
        ctx.fillStyle = col; ctx.globalAlpha = 0.85;
        ctx.beginPath(); ctx.arc(x, y, 5, 0, 6.3); ctx.fill();
        ctx.globalAlpha = 1;
        return { x, y, p };
      });
      if (!points.length) {
        ctx.textAlign = "center"; ctx.fillStyle = "#5d6778";
        ctx.fillText("no run has both values", w / 2, h / 2);
      }
      el.dataset.drawn = String(points.length);
    }
    canvas.addEventListener("mousemove", e => {
      let best = null, gap = 100;
      for (const q of placed) {
        const d = (q.x - e.offsetX) ** 2 + (q.y - e.offsetY) ** 2;
        if (d < gap) { gap = d; best = q; }
      }
      if (!best) { tip.style.display = "none"; return; }
      tip.textContent = `${best.p.label}\n${opts.xLabel || "x"}: ${best.p.raw}\n${opts.yLabel || "y"}: ${fmt(best.p.y)}`;
      tip.style.display = "block";
      tip.style.left = Math.min(e.offsetX + 12, el.clientWidth - 220) + "px";
      tip.style.top = (e.offsetY + 12) + "px";
    });
    canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
    window.addEventListener("resize", draw, { signal: gone.signal });
    draw();
    return { el, redraw: draw };
  }

  window.md.scatter = scatter;
})();
