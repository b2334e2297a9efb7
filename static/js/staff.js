// Small behaviours of the staff pages, here rather than in inline handlers
// (the Content-Security-Policy runs no inline script).
// An input marked data-select-on-click selects its whole value when clicked
// (a new API token, shown once, to copy).
document.addEventListener("click", (event) => {
  const input = event.target.closest("input[data-select-on-click]");
  if (input) input.select();
});
