// Docusaurus prefetches the code of every internal link as soon as the link scrolls into view: on a notebook page the
// sidebar alone is some thirty routes, about 130 KB and 30 requests that a reader pays for on every page, on a phone
// too. Links still preload their route on hover or touch (window.docusaurus.preload), which is when a reader is about
// to follow one; only the viewport prefetch is switched off. clientEntry assigns window.docusaurus after the client
// modules have run, so the wrapper is installed by a setter.
if (typeof window !== 'undefined') {
  let value;
  Object.defineProperty(window, 'docusaurus', {
    configurable: true,
    get: () => value,
    set: (v) => { value = v && { ...v, prefetch: () => false }; },
  });
}
