// Draws a collage description (API.md "Collage JSON") into the page: a square in the dominant
// colour with every image absolutely positioned and rotated as layout::Arrange placed it.
// Positions are percentages of the canvas size, so the square can be displayed at any width
// and the picture stays the one the PNG renderer draws.

const rgb = (c) => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const pct = (v, size) => `${((v / size) * 100).toFixed(4)}%`;

// WCAG relative luminance, to pick legible text over a colour.
function luminance(c) {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
export const textColorOn = (c) => (luminance(c) > 0.179 ? '#111' : '#fff');

// Replaces the content of `box` with the collage's images; resolves once every image has
// loaded or failed (the caller announces the result then).
export function drawCollage(box, collage) {
  box.replaceChildren();
  box.style.backgroundColor = rgb(collage.dominant_color);
  const size = collage.size || 400;
  const loads = [];
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
  return Promise.all(loads);
}

export function drawPalette(list, palette) {
  list.replaceChildren();
  for (const colour of palette) {
    const li = document.createElement('li');
    li.className = 'chip';
    li.style.backgroundColor = rgb(colour);
    li.style.color = textColorOn(colour);
    li.textContent = hex(colour);
    li.title = rgb(colour);
    list.append(li);
  }
}
