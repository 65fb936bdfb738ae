// MathJax 2.7 from the jupyter-server-mathjax wheel, copied into the site by docs_hooks.py:
// no CDN. That wheel ships the STIX-Web fonts only, so HTML-CSS uses them and nothing else.
window.MathJax = {
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
  messageStyle: "none",
  menuSettings: {zoom: "None"},
  showMathMenu: false,
};
