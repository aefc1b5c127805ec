// Share panel (web/_share.html): a "Copy link" button and, where the phone has a share sheet, "Share…".
// Both start hidden: without JavaScript the link is plain selectable text and the share links work as links.
(function () {
  function say(button, key) {
    var box = button.closest("[data-copied]"), status = box && box.querySelector(".share-status");
    if (status) { status.textContent = ""; status.textContent = box.dataset[key]; }
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var link = document.getElementById(button.dataset.copy);
    if (!link || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(link.href).then(
        function () { say(button, "copied"); }, function () { say(button, "copyFailed"); });
    });
  });
  document.querySelectorAll("[data-share]").forEach(function (button) {
    var link = document.getElementById(button.dataset.share);
    if (!link || !navigator.share) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({text: button.dataset.shareText}).catch(function () {});
    });
  });
})();
