// Copy buttons: each <button data-copy="ID"> copies the text of the element with that id. Without JavaScript
// the buttons stay hidden and the values can be selected by hand. Served from 'self' (CSP script-src 'self').
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    button.classList.add("copied");
    window.setTimeout(function () {
      button.textContent = label;
      button.classList.remove("copied");
    }, 1500);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button); }, function () { selectText(target); });
      } else {
        selectText(target);
        try {
          document.execCommand("copy");
          copied(button);
        } catch (error) {
          // The text stays selected: the person copies it with the keyboard.
        }
      }
    });
  });
})();
