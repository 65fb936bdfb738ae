// MathJax 2.7 from the jupyter-server-mathjax wheel, copied into the site by docs_hooks.py:
// no CDN. That wheel ships the STIX-Web fonts only, so HTML-CSS uses them and nothing else.
window.MathJax = {
  "HTML-CSS": {
    availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
    // MathJax's fallback face points at url(about:blank), which Chromium reports as a CORS
    // error on every page; a local() source is the same missing face without a request
    styles: {"@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"}},
  },
  messageStyle: "none",
  menuSettings: {zoom: "None"},
  showMathMenu: false,
};
