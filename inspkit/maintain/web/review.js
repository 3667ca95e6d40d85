// The two-stage review of doubtful inspections (paper Fig. 9).
// Step 1: is the model's answer right? Step 2 (right ones): did it look at the right place?
// Every answer is posted at once and stored by the server; this page keeps no state of its own
// beyond which sample is on screen. <body data-view/-sample/-stage/-busy> mirror that state
// for people debugging and for the end-to-end test.
"use strict";

const $ = (id) => document.getElementById(id);
const page = { items: [], index: 0, view: "loading", busy: false, counts: { total: 0, left: 0, failed: 0 } };

async function call(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new Error("The review server does not answer. Is 'inspkit review --serve' still running?");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
  return data;
}

function setBusy(busy) {
  page.busy = busy;
  document.body.dataset.busy = busy ? "1" : "0";
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function showCounts(counts) {
  page.counts = counts;
  $("left").textContent = counts.total ? `${counts.left} of ${counts.total} left` : "";
}

function show(view) {
  page.view = view;
  document.body.dataset.view = view;
  for (const id of ["review", "alldone", "empty"]) $(id).hidden = id !== view;
  if (view !== "review") {
    document.body.dataset.sample = "";
    document.body.dataset.stage = "";
  }
}

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function describe(item) {
  if (item.correct === false) return `wrong — the part is ${item.label}`;
  if (item.attention === "well-trained") return "right, well-trained";
  if (item.attention === "training-fail") return "right, training FAIL";
  return "right — step 2 still open";
}

function lastText(item) {
  if (!item.reviews) return "Not reviewed yet.";
  const n = item.reviews === 1 ? "1 answer" : `${item.reviews} answers`;
  return `Last answer: ${describe(item)} (${n} stored; the last one counts).`;
}

function savedText(item) {
  const id = `Saved: sample ${item.sample_id}`;
  if (item.correct === false) return `${id} — the model was wrong; the part is ${item.label}. It goes to retraining.`;
  if (item.attention === "well-trained") return `${id} — right, and the model looked at the right place.`;
  if (item.attention === "training-fail") {
    return `${id} — right, but the model looked at the wrong place (Training FAIL). It goes to retraining.`;
  }
  return `${id} — the model was right. Now step 2: look at the heatmap.`;
}

function setImage(img, url) {
  if (img.getAttribute("src") === url) return;
  // The <img> cannot read the server's one-line reason; ask for it again to show it.
  img.onerror = () => call(url).catch((err) => say(`Picture not shown: ${err.message}`, true));
  img.src = url;
}

function markChosen(item) {
  $("right").classList.toggle("chosen", item.correct === true);
  $("wrong").classList.toggle("chosen", item.correct === false);
  $("well").classList.toggle("chosen", item.attention === "well-trained");
  $("fail").classList.toggle("chosen", item.attention === "training-fail");
}

function prefetch(index) {
  // Asking early lets the server make the next heatmap while this sample is looked at.
  const next = page.items[index];
  if (next) for (const kind of ["img", "cam"]) fetch(`/${kind}/${next.sample_id}.png`).catch(() => {});
}

function render() {
  const item = page.items[page.index];
  show("review");
  document.body.dataset.sample = String(item.sample_id);
  document.body.dataset.stage = item.state;
  $("meta").textContent = `Sample ${item.sample_id} · ${page.index + 1} of ${page.items.length} in the queue`
    + ` · model ${item.model_version} · inspected ${when(item.inspected_at)}`;
  setImage($("image"), `/img/${item.sample_id}.png`);
  setImage($("cam"), `/cam/${item.sample_id}.png`);
  $("predicted").textContent = item.predicted;
  $("p_ok").textContent = item.p_ok.toFixed(3);
  $("last").textContent = lastText(item);
  const stage2 = item.correct === true;
  $("well").disabled = !stage2;
  $("fail").disabled = !stage2;
  $("stage2").classList.toggle("inactive", !stage2);
  markChosen(item);
  prefetch(page.index + 1);
}

function showAllDone() {
  show("alldone");
  const { total, failed } = page.counts;
  $("summary").textContent = `All ${total} samples are reviewed. ${failed} of them will be used to improve`
    + " the model (the model was wrong, or looked at the wrong place).";
}

function advance() {
  const n = page.items.length;
  for (let step = 1; step <= n; step++) {
    const i = (page.index + step) % n;
    if (page.items[i].state !== "done") {
      page.index = i;
      render();
      return;
    }
  }
  showAllDone();
}

async function decide(correct, attention) {
  if (page.view !== "review" || page.busy) return;
  const index = page.index;
  const item = page.items[index];
  if (attention !== null && item.correct !== true) {
    say("Answer step 1 first: press R (Right) if the model's answer is right.", true);
    return;
  }
  setBusy(true);
  try {
    const data = await call("/api/decision", { sample_id: item.sample_id, correct, attention });
    page.items[index] = data.state;
    showCounts(data.counts);
    say(savedText(data.state));
    if (data.state.state === "done") advance(); else render();
  } catch (err) {
    say(err.message, true);
  } finally {
    setBusy(false);
  }
}

function back() {
  if (page.busy || page.view === "empty" || page.view === "loading") return;
  if (page.view === "alldone") return render();
  if (page.index === 0) return say("This is the first sample.");
  page.index -= 1;
  render();
}

function skip() {
  if (page.busy || page.view !== "review") return;
  if (page.index + 1 < page.items.length) {
    page.index += 1;
    return render();
  }
  if (page.counts.left === 0) return showAllDone();
  page.index = page.items.findIndex((item) => item.state !== "done");
  render();
  say("That was the last sample; back to the first one still open.");
}

const KEYS = {
  r: () => decide(true, null), 1: () => decide(true, null),
  w: () => decide(false, null), 2: () => decide(false, null),
  g: () => decide(true, "well-trained"), 3: () => decide(true, "well-trained"),
  f: () => decide(true, "training-fail"), 4: () => decide(true, "training-fail"),
  ArrowLeft: back, ArrowRight: skip,
};

function onKey(event) {
  // A held key must not post the same answer again and again.
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const action = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
  if (!action) return;
  event.preventDefault();
  action();
}

async function start() {
  $("right").addEventListener("click", KEYS.r);
  $("wrong").addEventListener("click", KEYS.w);
  $("well").addEventListener("click", KEYS.g);
  $("fail").addEventListener("click", KEYS.f);
  $("back").addEventListener("click", back);
  $("skip").addEventListener("click", skip);
  document.addEventListener("keydown", onKey);
  try {
    const queue = await call("/api/queue");
    page.items = queue.items;
    showCounts(queue.counts);
    if (!page.items.length) {
      show("empty");
      $("empty-text").textContent = `No inspected part has a p(OK) within ${queue.alpha} of 0.5.`;
    } else {
      const open = page.items.findIndex((item) => item.state !== "done");
      page.index = open < 0 ? page.items.length - 1 : open;
      if (open < 0) showAllDone(); else render();
    }
  } catch (err) {
    say(err.message, true);
  }
  setBusy(false);
}

start();
