// Draws a collage description (API.md "Collage JSON") into the page, the same picture the
// server's PNG renderer draws (src/render): the ground as a radial gradient, the frame line,
// every image absolutely positioned and rotated as layout::Arrange placed it (prints with a
// white border), drop shadows, and the marks as SVG strokes. Positions are percentages of the
// canvas; lengths that CSS cannot give in percent (borders, shadows, padding) are multiples of
// --u, one canvas pixel in CSS pixels, kept up to date as the square is resized.

const rgb = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const pct = (v, size) => `${((v / size) * 100).toFixed(4)}%`;
const units = (v) => `calc(var(--u) * ${Number(v).toFixed(3)})`;
const SVG = 'http://www.w3.org/2000/svg';

// WCAG relative luminance, to pick legible text over a colour.
function luminance(c) {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
export const textColorOn = (c) => (luminance(c) > 0.179 ? '#111' : '#fff');

const observers = new WeakMap();

// Keeps --u (one canvas pixel) right for `box` whatever its displayed width.
function trackUnit(box, size) {
  box.dataset.canvas = String(size);
  const set = () => {
    box.style.setProperty('--u', `${box.clientWidth / Number(box.dataset.canvas)}px`);
  };
  set();
  if (!observers.has(box) && typeof ResizeObserver !== 'undefined') {
    const observer = new ResizeObserver(set);
    observer.observe(box);
    observers.set(box, observer);
  }
}

function drawGround(box, collage) {
  const g = collage.ground;
  if (!g) {
    box.style.background = rgb(collage.dominant_color);
    return;
  }
  const [lx, ly] = g.light || [0.5, 0.45];
  box.style.background = `radial-gradient(circle farthest-corner at ${lx * 100}% ${ly * 100}%, ` +
    `${rgb(g.center)} 0%, ${rgb(g.edge)} 75%)`;
}

function frameLine(collage, size) {
  const f = collage.frame;
  if (!f || !(f.width > 0)) return null;
  const line = document.createElement('div');
  line.className = 'frame-line';
  line.setAttribute('aria-hidden', 'true');
  const s = line.style;
  s.left = s.top = pct(f.inset, size);
  s.width = s.height = pct(size - 2 * f.inset, size);
  s.borderStyle = 'solid';
  s.borderColor = rgb(f.color);
  s.borderWidth = units(f.width);
  return line;
}

function shadowFilter(shadow) {
  if (!shadow || !(shadow.opacity > 0)) return '';
  return `drop-shadow(${units(shadow.dx)} ${units(shadow.dy)} ${units(shadow.blur)} ` +
    `rgba(0, 0, 0, ${shadow.opacity}))`;
}

function marksLayer(collage, size, z) {
  const marks = collage.marks || [];
  if (!marks.length) return null;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'marks');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('aria-hidden', 'true');
  svg.style.zIndex = String(z);
  for (const m of marks) {
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', m.points.map(([x, y]) => `${x},${y}`).join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', rgb(m.color));
    line.setAttribute('stroke-opacity', String(m.opacity));
    line.setAttribute('stroke-width', String(m.width));
    line.setAttribute('stroke-linecap', 'round');
    line.setAttribute('stroke-linejoin', 'round');
    svg.append(line);
  }
  return svg;
}

// Replaces the content of `box` with the collage; resolves once every image has loaded or
// failed (the caller announces the result then).
export function drawCollage(box, collage) {
  box.replaceChildren();
  const size = collage.size || 1080;
  trackUnit(box, size);
  drawGround(box, collage);
  const line = frameLine(collage, size);
  if (line) box.append(line);
  const filter = shadowFilter(collage.shadow);
  const loads = [];
  let top = 0;
  for (const item of collage.items) {
    const img = document.createElement('img');
    img.className = `piece ${item.kind}`;
    img.alt = item.alt || (item.kind === 'cutout' ? 'Cut-out of a cover' : 'Album cover');
    img.decoding = 'async';
    img.draggable = false;
    img.referrerPolicy = 'no-referrer';
    const s = img.style;
    s.left = pct(item.x - item.width / 2, size);
    s.top = pct(item.y - item.height / 2, size);
    s.width = pct(item.width, size);
    s.height = pct(item.height, size);
    s.transform = `rotate(${item.rotation}deg)`;
    s.zIndex = String(item.z);
    top = Math.max(top, item.z + 1);
    if (item.frame > 0) {
      s.padding = units(item.frame);
      s.backgroundColor = '#fff';
    }
    if (item.shadow && filter) s.filter = filter;
    loads.push(new Promise((resolve) => {
      img.addEventListener('load', () => resolve(true), { once: true });
      img.addEventListener('error', () => {
        img.classList.add('broken');
        resolve(false);
      }, { once: true });
    }));
    img.src = item.url;
    box.append(img);
  }
  const marks = marksLayer(collage, size, top);
  if (marks) box.append(marks);
  return Promise.all(loads);
}

// The palette as chips; the first, marked, is the collage's background colour.
export function drawPalette(list, palette, background) {
  list.replaceChildren();
  const chip = (colour, label) => {
    const li = document.createElement('li');
    li.className = 'chip';
    li.style.backgroundColor = rgb(colour);
    li.style.color = textColorOn(colour);
    li.textContent = label ? `${label} ${hex(colour)}` : hex(colour);
    li.title = rgb(colour);
    list.append(li);
  };
  if (background) chip(background, 'background');
  const same = (a, b) => a && b && a.every((v, i) => Math.abs(v - b[i]) < 8);
  for (const colour of palette) {
    if (!same(colour, background)) chip(colour);
  }
}
